"""Processes the bench starts (gunicorn masters in their own process groups), and their memory."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master started in a new session, so killing its group ends its workers too."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, log_path: Path, port: int):
        self.name, self.port, self.log_path = name, port, log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.started = time.time()
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, target: str, timeout: float = 30.0) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", target)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def wait_ready(self, path: str, timeout: float, poll: float = 0.1) -> float | None:
        """Seconds from start until `path` answers 200, or None after timeout (or if it died)."""
        deadline = self.started + timeout
        while time.time() < deadline:
            if not self.alive():
                return None
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.get(path, timeout=2)[0] == 200:
                    return time.time() - self.started
            time.sleep(poll)
        return None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> None:
        """TERM the process group, KILL it if it outlives the grace period."""
        try:
            if self.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            # Workers can outlive a master killed mid-start: end the whole group regardless.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        finally:
            self._log.close()


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return sorted(out)


def memory_mb(pid: int) -> dict[str, float]:
    """RSS and PSS (shared pages divided among the processes sharing them) in MB."""
    out = {"rss": 0.0, "pss": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of the children it has waited for (a build's forked
    tokenisers): against wall time, how many cores it kept busy."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def in_child(target, *args, timeout: float | None = None):
    """target(*args) in a fresh (spawned) process, so what it loads and measures is its own;
    its return value, or TimeoutError after `timeout` seconds (the child is then killed)."""
    import multiprocessing
    import queue

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_call_into, args=(out, target, args))
    proc.start()
    try:
        ok, value = out.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"{target.__name__} took more than {timeout:.0f} s") from None
    finally:
        if proc.is_alive():
            proc.join(5)
        if proc.is_alive():
            proc.kill()
        proc.join()
    if not ok:
        raise RuntimeError(value)
    return value


def _call_into(out, target, args) -> None:
    try:
        out.put((True, target(*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        import traceback

        out.put((False, f"{exc!r}\n{traceback.format_exc()[-1500:]}"))


def tree_memory(master: int) -> dict:
    workers = children(master)
    per = {pid: memory_mb(pid) for pid in workers}
    m = memory_mb(master)
    return {
        "master_rss": m["rss"], "master_pss": m["pss"],
        "workers_rss": [per[p]["rss"] for p in workers],
        "workers_rss_sum": sum(per[p]["rss"] for p in workers),
        "workers_pss_sum": sum(per[p]["pss"] for p in workers),
        "total_pss": m["pss"] + sum(per[p]["pss"] for p in workers),
        "worker_pids": workers,
    }
