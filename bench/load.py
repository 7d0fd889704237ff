"""wrk: make sure it is there, drive one server with a rotating list of paths, read its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class BenchError(Exception):
    """The bench cannot go on; the message says why and what to do."""


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when missing and root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError("wrk is not installed and cannot be installed here (needs root and apt-get): "
                         "install the Debian package 'wrk' (apt-get install wrk) and run again")
    print("wrk missing: apt-get install -y wrk", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        if command[1] == "install" and done.returncode == 0:
            break
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get could not install wrk; install the Debian package 'wrk' and run again")
    return found


def lua_script(paths: list[str], path: Path) -> Path:
    """A wrk script sending the paths in turn (each wrk thread starts at its own offset)."""
    for p in paths:
        if not p.isascii() or '"' in p or "\\" in p:
            raise ValueError(f"path must be percent-encoded ASCII: {p!r}")
    body = ",\n  ".join(f'"{p}"' for p in paths)
    path.write_text(
        f"local paths = {{\n  {body}\n}}\n"
        "local n = #paths\n"
        "local i = 0\n"
        "function setup(thread)\n  thread:set(\"offset\", math.random(n))\nend\n"
        "function init(args)\n  i = (offset or 1) - 1\nend\n"
        "function request()\n  i = i % n + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
        encoding="utf-8",
    )
    return path


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors (connect, read, write, timeout)
    non_2xx: int
    raw: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise BenchError(f"cannot read wrk's report:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)),
                     errors, int(non_2xx.group(1)) if non_2xx else 0, output)


def run_wrk(wrk: str, base_url: str, script: Path, duration: float, connections: int,
            threads: int = 1) -> WrkResult:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
               "--timeout", "10s", "-s", str(script), base_url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish: {' '.join(command)}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)
