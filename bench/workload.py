"""What the bench asks both servers: the benchmarked paths, the real service's recorded answers to
them, and the alternating wrk runs against the real and the bare server."""

from __future__ import annotations

import pickle
import statistics
import time
import urllib.parse
from pathlib import Path

from . import corpus
from .load import BenchError, WrkResult, lua_script, run_wrk
from .procs import Server, tree_memory
from .servers import start_bare, wait_workers

ENDPOINTS = ("article", "list", "topics", "search", "related", "hot", "suggest")

SEARCH_QUERIES = list(corpus.QUERIES) + ["帕金森", "天河区", "骨折 报销", "医保局电话", "抚州临川区医保"]
SUGGEST_PREFIXES = ["医", "医保", "医保卡", "医保报", "广州", "异地", "新生儿", "灵活就业", "惠民", "职工医保个",
                    "2025", "yib", "shebao", "门诊统", "生育", "抚州", "佛山医保", "社保卡激", "家庭共", "退休"]


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def endpoint_paths(article_ids: list[str]) -> dict[str, list[str]]:
    return {
        "article": [f"/api/v1/articles/{i}" for i in article_ids],
        "list": ["/api/v1/articles?per_page=20"],
        "topics": ["/api/v1/topics"],
        "search": [f"/api/v1/search?q={_q(q)}" for q in SEARCH_QUERIES],
        "related": [f"/api/v1/articles/{i}/related" for i in article_ids],
        "hot": ["/api/v1/search/hot"],
        "suggest": [f"/api/v1/search/suggest?q={_q(p)}" for p in SUGGEST_PREFIXES],
    }


def capture(server: Server, paths: dict[str, list[str]]) -> tuple[dict, dict]:
    """Warm the service (searches first, so 大家都在搜 has entries), then record every response."""
    for target in paths["search"] * 3:
        server.get(target)
    time.sleep(2.5)  # the search counters flush every 2 s; 大家都在搜 is read from them
    responses: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
    sizes: dict[str, float] = {}
    problems = []
    skip = {"date", "server", "content-length", "connection", "transfer-encoding", "x-request-id"}
    for name, targets in paths.items():
        total = 0
        for target in targets:
            status, headers, body = server.get(target)
            if status != 200:
                problems.append(f"{name}: {target} answered {status}: {body[:200]!r}")
            responses[target] = (status, [(k, v) for k, v in headers if k.lower() not in skip], body)
            total += len(body)
        sizes[name] = total / len(targets)
    if problems:
        raise BenchError("the service did not answer 200 to every benchmarked path:\n" + "\n".join(problems[:10]))
    status, headers, body = server.get("/readyz")
    responses["/readyz"] = (status, [(k, v) for k, v in headers if k.lower() not in skip], body)
    return responses, sizes


def _median(results: list[WrkResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in results)


def drive(wrk: str, real: Server, bare: Server, paths: dict[str, list[str]], tmp: Path, args,
          endpoints: list[str]) -> dict:
    out = {}
    for name in endpoints:
        script = lua_script(paths[name], tmp / f"{name}.lua")
        for server in (real, bare):  # warm-up, not counted
            run_wrk(wrk, f"http://127.0.0.1:{server.port}", script, 1, args.connections)
        runs: dict[str, list[WrkResult]] = {"real": [], "bare": []}
        for _ in range(args.rounds):
            for server in (real, bare):
                if not server.alive():
                    raise BenchError(f"the {server.name} server died:\n{server.log_tail()}")
                runs[server.name].append(
                    run_wrk(wrk, f"http://127.0.0.1:{server.port}", script, args.duration, args.connections))
        row = {}
        for side, results in runs.items():
            row[side] = {"rps": _median(results, "rps"), "p50": _median(results, "p50_ms"),
                         "p99": _median(results, "p99_ms"), "rps_runs": [r.rps for r in results],
                         "non_2xx": sum(r.non_2xx for r in results), "errors": sum(r.errors for r in results)}
        row["ratio"] = row["real"]["rps"] / row["bare"]["rps"] if row["bare"]["rps"] else 0.0
        out[name] = row
        print(f"  {name:8s} real {row['real']['rps']:8.1f} req/s  bare {row['bare']['rps']:8.1f} req/s  "
              f"ratio {row['ratio']:.2f}", flush=True)
    return out


def against_bare(wrk: str, real: Server, paths: dict[str, list[str]], tmp: Path, args, workers: int,
                 endpoints: list[str]) -> dict:
    """Capture the real answers, serve them from bare Flask with as many workers, drive both."""
    responses, sizes = capture(real, paths)
    pickled = tmp / "responses.pickle"
    pickled.write_bytes(pickle.dumps(responses))
    bare = start_bare(tmp, pickled, workers)
    try:
        if bare.wait_ready("/readyz", 60) is None:
            raise BenchError(f"bare Flask did not start:\n{bare.log_tail()}")
        wait_workers(bare, workers)
        bare_memory = tree_memory(bare.pid)
        rows = drive(wrk, real, bare, paths, tmp, args, endpoints)
    finally:
        bare.stop()
    return {"endpoints": rows, "response_bytes": sizes, "bare_memory": bare_memory}
