"""The `make bench-1m` section of bench/RESULTS.md: each figure, its target, the verdict.

The section lives between its own markers below the notes mark: `make bench` keeps all that is
below the notes mark, and this bench rewrites only what is between its markers (report.write_section).
"""

from __future__ import annotations


def marks(size: int) -> tuple[str, str]:
    """The markers of one size's section: a run at 100k leaves the million-article one alone."""
    label = "bench-1m" if size == 1_000_000 else f"bench-1m {size}"
    return f"<!-- {label}: start (bench/million.py rewrites this section) -->", f"<!-- {label}: end -->"


# Targets that depend on the size: {size: value}; a size without one is shown for reference.
PSS_TARGET_MB = {1_000_000: 3072.0, 100_000: 600.0}
RESTART_TARGET_S = {1_000_000: 15.0, 100_000: 5.0}
FIRST_START_TARGET_S = {1_000_000: 300.0}
SEARCH_P99_MS = 8.0
SEARCH_VS_TANTIVY = 1.5
HTTP_SEARCH_P99_MS = 15.0
SOAK_READ_P99_MS = 25.0
FLAT_GROWTH = 0.05  # PSS after warm-up may move this much and still count as flat
RELATED_P99_MS = 1.0
ARTICLE_RATIO = 0.6


def _mark(ok: bool | None) -> str:
    return "for reference" if ok is None else ("**met**" if ok else "**missed**")


def _failed(part) -> str | None:
    if part is None:
        return "not reached"
    return f"failed: {part['failed']}" if isinstance(part, dict) and "failed" in part else None


def _rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, target, measured, verdict)"""
    size = r["size"]
    rows = []

    def add(figure: str, target: str, part, measured, ok) -> None:
        why = _failed(part)
        rows.append((figure, target, why, "") if why else (figure, target, measured(part), _mark(ok(part))))

    def sized(targets: dict, unit: str) -> str:
        return f"≤ {targets[size]:.0f} {unit}" if size in targets else "— (set for " + ", ".join(
            f"{s:,}" for s in targets) + ")"

    soak = r.get("soak")
    add("all serving processes, PSS after the mixed load", sized(PSS_TARGET_MB, "MB"), soak,
        lambda s: f"{s['memory_after']['total_pss']:.0f} MB (master + {len(s['memory_after']['workers_rss'])} "
                  f"workers; {r.get('memory_start', {}).get('total_pss', 0):.0f} MB before any request)",
        lambda s: s["memory_after"]["total_pss"] <= PSS_TARGET_MB[size] if size in PSS_TARGET_MB else None)
    add("restart to /readyz 200 on the saved state, as `make run` (the store upgrade, then gunicorn)",
        sized(RESTART_TARGET_S, "s"), r.get("restart"),
        lambda s: f"{s['seconds']:.1f} s ({s['cpu_seconds']:.1f} CPU s, the upgrade included)",
        lambda s: s["seconds"] <= RESTART_TARGET_S[size] if size in RESTART_TARGET_S else None)
    add("first start on a new store (builds and saves the indexes)", sized(FIRST_START_TARGET_S, "s") +
        ", both cores", r.get("first_start"),
        lambda s: f"{s['seconds']:.1f} s; {s['cpu_seconds']:.0f} CPU s = {s.get('cores_used', 0):.2f} cores busy",
        lambda s: s["seconds"] <= FIRST_START_TARGET_S[size] and s.get("cores_used", 0) >= 1.5
        if size in FIRST_START_TARGET_S else None)
    inproc = r.get("inprocess")
    add("search p99 in process, uncached, the mix and the common-only queries (CPU; wall)",
        f"≤ {SEARCH_P99_MS:g} ms", inproc,
        lambda s: f"{s['ours']['cpu_p99']:.2f} ms ({s['ours']['p99']:.2f} ms wall); common-only "
                  f"{s['ours']['common_cpu_p99']:.2f} ms ({s['ours']['common_p99']:.2f} ms wall)",
        lambda s: max(s["ours"]["cpu_p99"], s["ours"]["common_cpu_p99"]) <= SEARCH_P99_MS)
    add("the same against tantivy on the same articles and queries (CPU p99)", f"≤ {SEARCH_VS_TANTIVY:g}×",
        inproc,
        lambda s: f"{s['ours']['cpu_p99'] / s['tantivy']['cpu_p99']:.2f}× (tantivy {s['tantivy']['cpu_p99']:.2f} ms, "
                  f"{s['tantivy']['p99']:.2f} ms wall; common-only {s['tantivy']['common_cpu_p99']:.2f} ms)",
        lambda s: s["ours"]["cpu_p99"] <= SEARCH_VS_TANTIVY * s["tantivy"]["cpu_p99"])
    http = r.get("http_search")
    add(f"search through HTTP, {http['queries'] if isinstance(http, dict) and 'queries' in http else ''} distinct "
        "never-seen queries, p50 / p99 (client side)", f"p99 ≤ {HTTP_SEARCH_P99_MS:g} ms", http,
        lambda s: f"{s['p50']:.1f} / {s['p99']:.1f} ms (max {s['max']:.1f}; non-200 {s['non_200']})",
        lambda s: s["p99"] <= HTTP_SEARCH_P99_MS and not s["non_200"])
    add("reads under the soak's mixed load, p50 / p99", f"read p99 ≤ {SOAK_READ_P99_MS:g} ms", soak,
        lambda s: f"{s['read_p50']:.1f} / {s['read_p99']:.1f} ms; {s['requests']} requests, {s['rps']:.0f}/s, "
                  f"errors {s['errors']}, unexpected 4xx {s['unexpected_4xx']}, lost writes {len(s['lost'])}",
        lambda s: s["read_p99"] <= SOAK_READ_P99_MS)
    add("memory growth in that soak, PSS after warm-up", f"flat (within {FLAT_GROWTH:.0%})", soak,
        lambda s: f"{s['pss_first']:.0f} → {s['pss_last']:.0f} MB ({s['pss_growth']:+.1%}, "
                  f"{s['pss_slope']:+.1f} MB/min, max {s['pss_max']:.0f})",
        lambda s: abs(s["pss_growth"]) <= FLAT_GROWTH)
    add("related lookup p99, uncached (CPU; wall)", f"≤ {RELATED_P99_MS:g} ms", inproc,
        lambda s: f"{s['related']['cpu_p99']:.3f} ms ({s['related']['p99']:.3f} ms wall; p50 "
                  f"{s['related']['cpu_p50']:.3f})",
        lambda s: s["related"]["cpu_p99"] <= RELATED_P99_MS)
    article = r.get("article")
    add("article GET through HTTP, req/s against bare Flask (same bytes, same run)", f"≥ {ARTICLE_RATIO:g}×",
        article,
        lambda s: f"{s['endpoints']['article']['ratio']:.2f}× ({s['endpoints']['article']['real']['rps']:.0f} "
                  f"against {s['endpoints']['article']['bare']['rps']:.0f} req/s)",
        lambda s: s["endpoints"]["article"]["ratio"] >= ARTICLE_RATIO)
    return rows


def render(r: dict, args, info: dict, elapsed: float) -> str:
    corpus = r.get("corpus", {})
    lines = [f"## {r['size']:,} articles in one run (`make bench-1m`)", "",
             f"Generated by `python -m bench.million --size {r['size']}`; see `bench/million.py` for the method.", "",
             f"- machine: {info['cores']} cores, {info['cpu']}, {info['memory']} RAM; Python {info['python']}; "
             f"date {info['date']}; commit {info['commit']}",
             f"- store: {corpus.get('articles', 0):,} articles, {corpus.get('snapshot_mb', 0):.0f} MB snapshot; "
             f"{r.get('workers', args.workers)} gunicorn workers; soak {args.soak_minutes:g} min at ≤ "
             f"{args.soak_rps:g} req/s, {args.soak_threads} threads; wrk {args.rounds} real/bare pairs of "
             f"{args.duration:g} s, -c{args.connections}; whole run {elapsed:.0f} s"
             + (" (**interrupted**)" if r.get("interrupted") else ""), "",
             "| figure | target | measured | |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows(r)]
    first = r.get("first_start") or {}
    steps = first.get("timings", {}).get("steps", {}) if isinstance(first, dict) else {}
    cpu = first.get("timings", {}).get("cpu", {}) if isinstance(first, dict) else {}
    if steps:
        lines += ["", "First start, steps in the master (wall, and the master's own CPU; build workers' CPU "
                  "is in the cores figure): " + ", ".join(
                      f"{k} {v:.1f} s (cpu {cpu.get(k, 0):.1f})" for k, v in steps.items() if k != "wsgi:loaded")]
    inproc = r.get("inprocess")
    if isinstance(inproc, dict) and "ours" in inproc:
        lines += ["", f"In process: store and indexes opened in {inproc['open_s']:.1f} s; tantivy indexed the "
                  f"same articles in {inproc['tantivy_build_s']:.1f} s (tokens "
                  f"{'from var/bench' if inproc['tokens_cached'] else 'made'} in {inproc['tokenise_s']:.1f} s); "
                  f"query mix p50 ours {inproc['ours']['cpu_p50']:.2f} ms CPU, tantivy "
                  f"{inproc['tantivy']['cpu_p50']:.2f} ms CPU."]
    soak = r.get("soak")
    if isinstance(soak, dict) and "kinds" in soak:
        lines += ["", "Soak p50 / p99 by kind (ms): " + ", ".join(
            f"{k} {v['p50']:.1f} / {v['p99']:.1f}" for k, v in soak["kinds"].items() if v["count"])]
    lines += ["", "Latencies judged on CPU time are the measuring thread's own (the machine is shared); the "
              "HTTP figures are wall time at the client, on the same two cores as the servers."]
    return "\n".join(lines) + "\n"
