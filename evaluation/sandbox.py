"""Run untrusted, model-written Python in a child process that cannot do much harm.

Layers (all on by default):

* a fresh process (``python -I``: isolated mode, no user site, no environment-driven imports) in an
  empty temporary working directory, in its own session so the whole process group is killed;
* a wall-clock timeout (the group gets SIGKILL), and ``resource.setrlimit`` limits that the child
  sets on itself before the code runs (not in a ``preexec_fn``, which is unsafe in threaded callers):
  ``RLIMIT_AS`` (address space), ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_FSIZE`` (largest file written)
  and ``RLIMIT_CORE`` 0; hard limits, so the code cannot raise them again;
* no network: when ``unshare -n`` works on this machine (root, or unprivileged user namespaces) the
  child runs in a new, empty network namespace (no interface is up, so even loopback is unreachable);
  in every case an audit hook (PEP 578) installed before the code runs raises ``PermissionError`` on
  ``socket.connect``/``bind``/``sendto``/``getaddrinfo`` and on creating non-UNIX sockets.

It is not a security boundary against a determined attacker (no seccomp, the file system is visible);
it stops the accidents generated code makes: endless loops, memory blow-ups, stray network calls.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

_NO_NETWORK_HOOK = r"""
import socket as _s, sys as _sys
def _aletheia_no_network(event, args, _unix=getattr(_s, "AF_UNIX", 1)):
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                 "socket.gethostbyname", "socket.gethostbyaddr"):
        raise PermissionError(f"network access is disabled in the sandbox ({event})")
    if event == "socket.__new__" and args[1] != _unix:
        raise PermissionError("network access is disabled in the sandbox (socket)")
_sys.addaudithook(_aletheia_no_network)
del _s, _sys
"""

_LIMITS = r"""
import resource as _r
for _k, _v in {limits!r}.items():
    _r.setrlimit(getattr(_r, _k), (_v, _v))
del _r, _k, _v
"""

_RUNNER = "import sys; code = open(sys.argv[1]).read(); exec(compile(code, sys.argv[1], 'exec'), {'__name__': '__main__'})"


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None  # None when killed for the timeout
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    network_namespace: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@functools.lru_cache(maxsize=1)
def unshare_available() -> bool:
    exe = shutil.which("unshare")
    if not exe:
        return False
    try:
        return (
            subprocess.run([exe, "-n", "true"], capture_output=True, timeout=10, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _limits(memory_mb: int, cpu_seconds: int, file_mb: int) -> str:
    """Code that sets the resource limits, run by the child itself before anything else."""
    limits = {
        "RLIMIT_AS": memory_mb * 1024 * 1024,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_FSIZE": file_mb * 1024 * 1024,
        "RLIMIT_CORE": 0,
    }
    return _LIMITS.format(limits=limits)


def run_python(
    code: str,
    *,
    timeout: float = 10.0,
    memory_mb: int = 1024,
    cpu_seconds: int | None = None,
    file_mb: int = 16,
    network_namespace: bool | None = None,
    audit_hook: bool = True,
) -> SandboxResult:
    """Run ``code`` as a script under the limits above. ``network_namespace=None`` uses it when available."""
    use_ns = unshare_available() if network_namespace is None else network_namespace
    if use_ns and not unshare_available():
        raise RuntimeError("unshare -n is not available on this machine")
    cpu = cpu_seconds if cpu_seconds is not None else max(1, int(timeout) + 1)
    with tempfile.TemporaryDirectory(prefix="aletheia-sandbox-") as tmp:
        script = os.path.join(tmp, "program.py")
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(code)
        boot = _limits(memory_mb, cpu, file_mb) + (_NO_NETWORK_HOOK if audit_hook else "") + _RUNNER
        cmd = [sys.executable, "-I", "-c", boot, script]
        if use_ns:
            cmd = [shutil.which("unshare") or "unshare", "-n", *cmd]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONHASHSEED": "0",
            "HOME": tmp,
            "LANG": "C.UTF-8",
        }
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
            timed_out = True
        return SandboxResult(
            returncode=None if timed_out else proc.returncode,
            stdout=out[-4000:],
            stderr=err[-4000:],
            timed_out=timed_out,
            seconds=time.monotonic() - start,
            network_namespace=use_ns,
        )
