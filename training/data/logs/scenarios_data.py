"""Data-tier failures: PostgreSQL deadlocks, connection exhaustion and full WAL disks, Redis at
maxmemory, HDFS safe mode and write-pipeline failures."""

from __future__ import annotations

import random

from . import noise
from .common import Clock, Event, Scenario, hexid, ip


def pg_deadlock(rng: random.Random, clock: Clock) -> Scenario:
    table = rng.choice(["accounts", "inventory", "wallets", "seats"])
    p1, p2 = rng.randint(1000, 99999), rng.randint(1000, 99999)
    t1, t2 = rng.randint(10**6, 10**8), rng.randint(10**6, 10**8)
    a, b = rng.randint(1, 5000), rng.randint(1, 5000)
    col = {"accounts": "balance", "inventory": "quantity", "wallets": "amount", "seats": "reserved"}[table]

    def dl(c: Clock) -> list[str]:
        pre = f"{c.postgres()} [{p1}] "
        return [
            pre + "ERROR:  deadlock detected",
            pre + f"DETAIL:  Process {p1} waits for ShareLock on transaction {t1}; blocked by process {p2}.",
            f"\tProcess {p2} waits for ShareLock on transaction {t2}; blocked by process {p1}.",
            f"\tProcess {p1}: UPDATE {table} SET {col} = {col} - 1 WHERE id = {b}",
            f"\tProcess {p2}: UPDATE {table} SET {col} = {col} + 1 WHERE id = {a}",
            pre + "HINT:  See server log for query details.",
            pre
            + f'CONTEXT:  while updating tuple ({rng.randint(0, 900)},{rng.randint(1, 60)}) in relation "{table}"',
            pre + f"STATEMENT:  UPDATE {table} SET {col} = {col} - 1 WHERE id = {b}",
        ]

    return Scenario(
        source="/var/log/postgresql/postgresql-16-main.log",
        noise=noise.postgres(rng),
        events=[Event(dl, (0, 1, 2))],
        root_cause=f"Two transactions update the same {table} rows ({a} and {b}) in opposite order; each waits for the other's row lock, so PostgreSQL detects the deadlock and aborts process {p1}'s transaction (SQLSTATE 40P01).",
        fix=f"Lock rows in a consistent order (e.g. `SELECT ... FROM {table} WHERE id IN (...) ORDER BY id FOR UPDATE` before updating), keep the transactions short, and retry on SQLSTATE 40P01 in the application.",
        decoys=[
            f"The {table} table is missing an index, so the updates time out.",
            "max_connections is exhausted.",
            "An autovacuum on the table blocks the updates.",
        ],
        summary="`ERROR: deadlock detected`",
    )


def pg_too_many_clients(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["analytics-api", "crm-backend", "jobs-worker"])
    mod = app.replace("-", "_")
    dbhost = ip(rng)
    maxc = rng.choice([100, 200])
    variant = rng.choice(["too_many", "reserved"])
    msg = (
        "FATAL:  sorry, too many clients already"
        if variant == "too_many"
        else "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute"
    )

    def trace(c: Clock) -> list[str]:
        return [
            f"{c.python()} ERROR [{mod}.db] could not acquire database connection",
            "Traceback (most recent call last):",
            f'  File "/srv/{app}/{mod}/db.py", line {rng.randint(20, 90)}, in connect',
            "    return psycopg2.connect(dsn, connect_timeout=5)",
            f'psycopg2.OperationalError: connection to server at "{dbhost}", port 5432 failed: {msg}',
        ]

    def scale(c: Clock) -> list[str]:
        return [
            f"{c.python()} INFO [{mod}.pool] pool size={rng.choice([20, 30, 50])} per worker, workers={rng.choice([8, 12, 16])}"
        ]

    return Scenario(
        source=f"/var/log/{app}/{app}.log",
        noise=noise.python_app(rng, app),
        events=[
            Event(scale, (0,), gap=(1, 4)),
            Event(trace, (4,), gap=(1, 4)),
            Event(trace, (4,), gap=(0, 3)),
        ],
        root_cause=f"PostgreSQL at {dbhost} has no free connection slots (max_connections={maxc}): the app opens a pool per worker, so workers x pool size exceeds the server's limit and new connections are refused.",
        fix="Put PgBouncer (transaction pooling) in front of PostgreSQL or cut pool size x workers below max_connections minus superuser_reserved_connections; check `SELECT count(*), state FROM pg_stat_activity GROUP BY state` for idle-in-transaction sessions.",
        decoys=[
            "The database password is wrong.",
            "PostgreSQL is down and refuses TCP connections.",
            "A firewall blocks port 5432.",
        ],
        summary="`psycopg2.OperationalError ... too many clients` / reserved slots",
    )


def pg_wal_full(rng: random.Random, clock: Clock) -> Scenario:
    p = rng.randint(1000, 99999)
    slot = rng.choice(["replica_2", "debezium", "standby_dc2", "airbyte_slot"])

    def slot_warn(c: Clock) -> list[str]:
        return [
            f'{c.postgres()} [{rng.randint(1000, 99999)}] LOG:  replication slot "{slot}" is inactive; restart_lsn {rng.randint(10, 99)}/{hexid(rng, 8).upper()} retains {rng.randint(150, 900)} GB of WAL'
        ]

    def panic(c: Clock) -> list[str]:
        pre = f"{c.postgres()} [{p}] "
        return [
            pre + f'PANIC:  could not write to file "pg_wal/xlogtemp.{p}": No space left on device',
            f"{c.postgres()} [{rng.randint(1000, 9999)}] LOG:  WAL writer process (PID {p}) was terminated by signal 6: Aborted",
            f"{c.postgres()} [{rng.randint(1000, 9999)}] LOG:  terminating any other active server processes",
        ]

    return Scenario(
        source="/var/log/postgresql/postgresql-16-main.log",
        noise=noise.postgres(rng),
        events=[Event(slot_warn, (0,), gap=(1, 4)), Event(panic, (0, 1), gap=(1, 4))],
        root_cause=f'The disk holding pg_wal filled up because the inactive replication slot "{slot}" keeps PostgreSQL from recycling WAL; the WAL writer cannot create a new segment, so PostgreSQL PANICs and restarts all backends.',
        fix=f"Free space and stop the retention: reconnect the consumer of \"{slot}\" or drop it (`SELECT pg_drop_replication_slot('{slot}')`) if it is abandoned; set `max_slot_wal_keep_size` so a dead slot cannot fill the disk, and alert on pg_wal size.",
        decoys=[
            "A checkpoint storm is overloading the disk.",
            "The database files are corrupted.",
            "The server ran out of memory.",
        ],
        summary='`PANIC: could not write to file "pg_wal/xlogtemp": No space left on device`',
    )


def redis_oom(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["session-api", "rate-limiter", "feed-builder"])
    mod = app.replace("-", "_")
    mem = rng.choice(["1gb", "2gb", "512mb"])

    def err(c: Clock) -> list[str]:
        key = rng.choice(["session:", "rl:", "feed:"]) + hexid(rng, 10)
        return [
            f"{c.python()} ERROR [{mod}.store] SET {key} failed",
            "redis.exceptions.ResponseError: OOM command not allowed when used memory > 'maxmemory'.",
        ]

    def info(c: Clock) -> list[str]:
        return [
            f"{c.python()} WARNING [{mod}.health] redis used_memory_human={mem.upper()[:-1]} maxmemory_human={mem.upper()[:-1]} maxmemory_policy=noeviction evicted_keys=0"
        ]

    return Scenario(
        source=f"/var/log/{app}/app.log",
        noise=noise.python_app(rng, app),
        events=[Event(info, (0,), gap=(1, 4)), Event(err, (1,), gap=(0, 3)), Event(err, (1,), gap=(0, 3))],
        root_cause=f"Redis reached maxmemory ({mem}) with `maxmemory-policy noeviction`, so it rejects every write with an OOM error; nothing is being evicted.",
        fix="Set TTLs on the keys being written and choose an eviction policy that fits a cache (`CONFIG SET maxmemory-policy allkeys-lru`, also in redis.conf), or raise maxmemory if the data must all stay; find the biggest keys with `redis-cli --bigkeys`.",
        decoys=[
            "The Redis server ran out of system RAM and the kernel OOM-killed it.",
            "The client's connection pool is exhausted.",
            "Redis persistence (AOF fsync) is blocking writes.",
        ],
        summary="`OOM command not allowed when used memory > 'maxmemory'`",
    )


def hdfs_safemode(rng: random.Random, clock: Clock) -> Scenario:
    total = rng.randint(9000, 900000)
    reported = int(total * rng.uniform(0.6, 0.97))
    thresh = 0.999
    need = int(total * thresh) - reported + 1
    live = rng.randint(2, 9)
    path = f"/user/etl/{rng.choice(['daily', 'hourly', 'staging'])}/part-{rng.randint(0, 999):05d}"

    def safe(c: Clock) -> list[str]:
        return [
            f"{c.hdfs()} {rng.randint(10, 999)} INFO namenode.FSNamesystem: STATE* Safe mode ON. The reported blocks {reported} needs additional {need} blocks to reach the threshold {thresh:.4f} of total blocks {total}. The number of live datanodes {live} has reached the minimum number 0."
        ]

    def exc(c: Clock) -> list[str]:
        return [
            f"{c.hdfs()} {rng.randint(10, 999)} ERROR security.UserGroupInformation: PriviledgedActionException as:etl cause:org.apache.hadoop.hdfs.server.namenode.SafeModeException: Cannot create file{path}. Name node is in safe mode."
        ]

    return Scenario(
        source="hadoop-hdfs-namenode.log",
        noise=noise.hdfs(rng),
        events=[Event(safe, (0,), gap=(1, 4)), Event(exc, (0,), gap=(1, 4))],
        root_cause=f"The NameNode is stuck in safe mode because only {reported} of {total} blocks have been reported (below the {thresh} threshold): DataNodes holding the rest are down or unregistered, so writes such as {path} are refused.",
        fix="Bring the missing DataNodes back (check `hdfs dfsadmin -report` for dead nodes and their logs); once blocks are reported safe mode ends by itself. Only if blocks are truly lost, run `hdfs fsck / -list-corruptfileblocks`, deal with them, then `hdfs dfsadmin -safemode leave`.",
        decoys=[
            "The etl user lacks write permission on the target directory.",
            "The HDFS namespace quota is exceeded.",
            "The NameNode heap is exhausted.",
        ],
        summary="`SafeModeException: Name node is in safe mode`",
    )


def hdfs_pipeline(rng: random.Random, clock: Clock) -> Scenario:
    n = rng.choice([2, 3])
    nodes = [f"{ip(rng)}:9866" for _ in range(n)]
    blk = f"blk_{rng.randint(10**9, 10**10)}_{rng.randint(10**6, 10**7)}"

    def bad(c: Clock) -> list[str]:
        return [
            f"{c.hdfs()} {rng.randint(10, 999)} WARN hdfs.DataStreamer: Error Recovery for BP-{rng.randint(10**8, 10**9)}-{ip(rng)}:{blk} in pipeline [DatanodeInfoWithStorage[{nodes[0]},DS-{hexid(rng, 8)},DISK]]: datanode 0({nodes[0]}) is bad."
        ]

    def fail(c: Clock) -> list[str]:
        return [
            f"{c.hdfs()} {rng.randint(10, 999)} ERROR hdfs.DataStreamer: DataStreamer Exception",
            (
                "java.io.IOException: Failed to replace a bad datanode on the existing pipeline due to no more good datanodes being available to try. "
                f"(Nodes: current=[{', '.join(nodes)}], original=[{', '.join(nodes)}]). The current failed datanode replacement policy is DEFAULT, "
                "and a client may configure this via 'dfs.client.block.write.replace-datanode-on-failure.policy' in its configuration."
            ),
        ]

    return Scenario(
        source="HDFS client log",
        noise=noise.hdfs(rng),
        events=[Event(bad, (0,), gap=(1, 4)), Event(fail, (1,), gap=(0, 3))],
        root_cause=f"A DataNode in the write pipeline failed and the client's DEFAULT replace-datanode-on-failure policy requires a replacement, but the cluster has only {n} DataNodes, so there is none to add and the write fails.",
        fix=f"Fix or restart the failed DataNode ({nodes[0]}); on clusters with 3 or fewer DataNodes set `dfs.client.block.write.replace-datanode-on-failure.policy=NEVER` (or `.best-effort=true`) in the client's hdfs-site.xml, or add DataNodes.",
        decoys=[
            "The NameNode is in safe mode.",
            "The disk on the client machine is full.",
            "The block size is too large for the DataNodes.",
        ],
        summary="`Failed to replace a bad datanode on the existing pipeline`",
    )


SCENARIOS = {
    "postgres_deadlock": pg_deadlock,
    "postgres_too_many_clients": pg_too_many_clients,
    "postgres_wal_disk_full": pg_wal_full,
    "redis_maxmemory": redis_oom,
    "hdfs_safe_mode": hdfs_safemode,
    "hdfs_pipeline_datanode": hdfs_pipeline,
}
