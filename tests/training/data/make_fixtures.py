"""Writes the small SFT/DPO fixtures beside this file (run once; the JSONL files are committed).

Examples are built with the shared task formats (aletheia.tasks), like the real training data."""

from __future__ import annotations

import json
from pathlib import Path

from aletheia.tasks import ConfigReviewTask, Finding, LogAnalysisTask, LogAnswer, QuestionTask, format_config_review_answer

HERE = Path(__file__).parent

QA = [
    ("linux", "How do I see which process listens on TCP port 8080?",
     "Run `ss -ltnp 'sport = :8080'` (or `lsof -iTCP:8080 -sTCP:LISTEN`). The last column names the process and its PID; run it with sudo to see processes of other users."),
    ("linux", "What does a load average of 4.0 mean on a 2-core machine?",
     "On average four tasks were runnable or in uninterruptible sleep, so the machine is about twice oversubscribed. Check `vmstat 1` for run queue and I/O wait before blaming the CPU."),
    ("git", "How do I undo the last commit but keep the changes?",
     "Use `git reset --soft HEAD~1`: the commit is removed and its changes stay staged. Use `--mixed` to keep them unstaged instead."),
    ("docker", "Why is my Docker image so large?",
     "Each RUN, COPY and ADD adds a layer, and files deleted in a later layer still ship. Use a multi-stage build, a slim base image, clean package caches in the same RUN, and a .dockerignore."),
    ("kubernetes", "What is the difference between a liveness and a readiness probe?",
     "A failing readiness probe removes the pod from Service endpoints but leaves it running; a failing liveness probe makes the kubelet restart the container. Do not point liveness at dependencies."),
    ("postgres", "How do I find slow queries in PostgreSQL?",
     "Enable the `pg_stat_statements` extension and sort by `mean_exec_time`, or set `log_min_duration_statement = 500` to log statements slower than 500 ms. Then run EXPLAIN (ANALYZE, BUFFERS) on them."),
    ("networking", "What does TIME_WAIT mean in netstat output?",
     "The side that closed the TCP connection first keeps it in TIME_WAIT for 2*MSL (60 s on Linux) so late segments are not mistaken for a new connection. Many of them point to short-lived connections without keep-alive."),
    ("systemd", "How do I make a systemd service restart when it crashes?",
     "Set `Restart=on-failure` and `RestartSec=5` in the [Service] section, then `systemctl daemon-reload` and restart the unit. Add `StartLimitIntervalSec` and `StartLimitBurst` to bound restart loops."),
    ("nginx", "How do I pass the client IP to my backend through nginx?",
     "Add `proxy_set_header X-Real-IP $remote_addr;` and `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;` in the location block, and have the backend trust only the proxy's address."),
    ("python", "Why does my Python service leak memory?",
     "Common causes are unbounded caches (functools.lru_cache without maxsize), global lists that grow per request, and reference cycles holding large objects. Compare `tracemalloc` snapshots taken minutes apart."),
    ("redis", "How do I stop Redis from running out of memory?",
     "Set `maxmemory` to a limit below the host's RAM and choose an eviction policy such as `allkeys-lru`. Watch `used_memory` and `evicted_keys` in `INFO memory`."),
    ("tls", "How do I check when a server's TLS certificate expires?",
     "Run `openssl s_client -connect host:443 -servername host </dev/null | openssl x509 -noout -enddate`. The notAfter line is the expiry date."),
]

CONFIGS = [
    ("dockerfile", "Dockerfile", "FROM python:latest\nCOPY . /app\nRUN pip install -r /app/requirements.txt\nCMD python /app/main.py\n",
     [Finding(1, "The base image uses the mutable `latest` tag", "pin a version, e.g. `python:3.12-slim`"),
      Finding(4, "The container runs as root", "add `USER app` before CMD", rule="no-root-user")],
     "Pin the base image and drop root."),
    ("compose", "docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: secret\n    ports:\n      - \"5432:5432\"\n",
     [Finding(5, "The database password is committed in plain text", "read it from an env file or a secret"),
      Finding(7, "The database port is published on all interfaces", "bind to `127.0.0.1:5432:5432` or drop it")],
     "Keep secrets out of the file and do not expose the database."),
    ("kubernetes", "deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1.4\n",
     [Finding(8, "The container has no resource requests or limits", "set `resources.requests` and `resources.limits`"),
      Finding(8, "The container has no readiness probe", "add a `readinessProbe` on the health endpoint")],
     "Add resources and probes before this goes to production."),
    ("nginx", "site.conf", "server {\n    listen 80;\n    server_tokens on;\n    location / {\n        proxy_pass http://app:8000;\n    }\n}\n",
     [Finding(3, "The nginx version is disclosed in headers and error pages", "set `server_tokens off;`")],
     "Hide the server version."),
    ("systemd", "worker.service", "[Unit]\nDescription=worker\n\n[Service]\nExecStart=/usr/bin/python3 worker.py\n",
     [Finding(5, "ExecStart uses a relative script path, which depends on the working directory", "use an absolute path"),
      Finding(4, "The service never restarts after a crash", "add `Restart=on-failure`")],
     "Make the unit robust to crashes and working directories."),
    ("dockerfile", "Dockerfile.build", "FROM node:20\nRUN apt-get update\nRUN apt-get install -y curl\nCOPY . .\nRUN npm install\n",
     [Finding(2, "`apt-get update` in its own layer leaves a stale cache for later installs", "combine update and install in one RUN and remove /var/lib/apt/lists"),
      Finding(5, "`npm install` may change the lockfile", "use `npm ci`")],
     "Make the build reproducible."),
]

LOGS = [
    ("HDFS", "2024-03-01 10:00:01 INFO NameNode: replaying edits\n2024-03-01 10:00:09 WARN JvmPauseMonitor: pause of 4012ms\n2024-03-01 10:00:12 ERROR NameNode: java.lang.OutOfMemoryError: Java heap space\n2024-03-01 10:00:12 INFO NameNode: shutting down",
     LogAnswer("The NameNode ran out of heap while replaying the edit log.", (2, 3), "Raise the NameNode heap (-Xmx in HADOOP_NAMENODE_OPTS) and checkpoint the edit log more often.")),
    ("nginx", "2024/05/02 08:14:01 [error] 31#31: *1 connect() failed (111: Connection refused) while connecting to upstream, upstream: \"http://10.0.0.5:8000/\"\n2024/05/02 08:14:02 [error] 31#31: *2 no live upstreams while connecting to upstream",
     LogAnswer("The upstream application on 10.0.0.5:8000 is not accepting connections.", (1, 2), "Check that the app is running and listening on 8000, then reload nginx.")),
    ("postgres", "2024-06-11 12:00:00 UTC LOG: checkpoint starting\n2024-06-11 12:00:05 UTC FATAL: remaining connection slots are reserved for non-replication superuser connections\n2024-06-11 12:00:05 UTC FATAL: sorry, too many clients already",
     LogAnswer("PostgreSQL hit max_connections; clients open more connections than it allows.", (2, 3), "Put PgBouncer in front or lower the application pool size; raise max_connections only with memory to spare.")),
    ("kernel", "Jun 12 03:11:40 host kernel: Out of memory: Killed process 2211 (java) total-vm:8123456kB\nJun 12 03:11:40 host kernel: oom_reaper: reaped process 2211 (java)\nJun 12 03:11:41 host systemd[1]: app.service: Main process exited, code=killed, status=9/KILL",
     LogAnswer("The kernel OOM killer killed the Java process because the host ran out of memory.", (1, 3), "Cap the JVM heap below the host memory (or the cgroup limit) and add swap or memory.")),
    ("docker", "Error response from daemon: driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:80 failed: port is already allocated",
     LogAnswer("Another container or process already holds host port 80.", (1,), "Find it with `docker ps` or `ss -ltnp 'sport = :80'`, stop it or publish a different port.")),
    ("java", "Exception in thread \"main\" java.net.UnknownHostException: db.internal\n\tat java.net.InetAddress.getAllByName0(InetAddress.java:1281)\n\tat com.example.Db.connect(Db.java:42)",
     LogAnswer("The host name db.internal does not resolve in this environment.", (1, 3), "Fix the DNS entry or the configured database host; check /etc/resolv.conf inside the container.")),
]


def sft_rows():
    rows = []
    for i, (topic, q, a) in enumerate(QA):
        rows.append({"messages": QuestionTask(q).messages(a), "source": "qa", "topic": topic, "id": f"qa-{i}"})
    for i, (kind, path, content, findings, summary) in enumerate(CONFIGS):
        task = ConfigReviewTask(kind=kind, content=content, path=path)
        rows.append({"messages": task.messages(format_config_review_answer(findings, summary)),
                     "source": "config_review", "topic": kind, "id": f"cfg-{i}"})
    for i, (src, excerpt, ans) in enumerate(LOGS):
        task = LogAnalysisTask(excerpt=excerpt, source=src)
        rows.append({"messages": task.messages(ans.render()), "source": "log_analysis", "topic": src, "id": f"log-{i}"})
    return rows


def dpo_rows(sft):
    rows = []
    for row in sft:
        answer = row["messages"][-1]["content"]
        words = answer.split()
        wrong = " ".join(words[: max(3, len(words) // 3)]) + " I am not sure about the rest."
        rows.append({"prompt": row["messages"][:-1], "chosen": [row["messages"][-1]],
                     "rejected": [{"role": "assistant", "content": wrong}], "rejected_by": "corruption:truncate",
                     "source": row["source"], "topic": row["topic"], "id": row["id"] + "-truncate"})
    return rows


def main():
    sft = sft_rows()
    (HERE / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sft))
    (HERE / "dpo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dpo_rows(sft)))


if __name__ == "__main__":
    main()
