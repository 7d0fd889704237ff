"""Nothing acknowledged is lost under faults: SIGKILL of the whole service mid-stream, a kill in
the middle of a compaction, and a full disk under a running service.

Real processes throughout (gunicorn via tests/server.py, or a child process holding a Store).
Every test is bounded by generous deadlines and never asserts on timing.
"""

from __future__ import annotations

import fcntl
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
import requests

from service.domain.content.seeds import seed_document
from service.domain.store.records import check_document
from service.domain.store.store import Store
from tests.server import ROOT, Server

KEY = {"Authorization": "Bearer test-write-key"}
SEED_ARTICLES = len(orjson.loads((ROOT / "seeds" / "articles.json").read_bytes())["articles"])


def fresh(method: str, url: str, **kwargs) -> requests.Response:
    """A new connection per request, so requests spread over the workers."""
    with requests.Session() as session:
        return session.request(method, url, headers={"Connection": "close", **kwargs.pop("headers", {})},
                               timeout=30, **kwargs)


def db_check(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "service", "db", "check"], cwd=ROOT,
                          env={**os.environ, "DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=120)


def journal_lines(data_dir: Path) -> list[dict]:
    """Every line of the journal, asserting each one is whole JSON ending in a newline."""
    raw = (data_dir / "journal.jsonl").read_bytes()
    assert raw.endswith(b"\n"), raw[-200:]
    return [orjson.loads(line) for line in raw.splitlines()]


def wait_for(check, seconds: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.05)


# -- 1. SIGKILL of master and workers while writers stream -----------------------------------------


class Writer(threading.Thread):
    """Creates, patches and deletes its own articles as fast as it can, one connection per request,
    and remembers what was acknowledged. Stops at the first request without an answer."""

    def __init__(self, n: int, url: str, stop: threading.Event, acked: dict[str, int], prefix: str):
        super().__init__(name=f"writer-{n}", daemon=True)
        self.url, self.stop, self.prefix = url, stop, prefix
        self.acked = acked  # article id -> version acknowledged (kept across kill cycles)
        self.deleted: set[str] = set()  # deletes acknowledged
        self.inflight: tuple[str, str] | None = None  # (op, id) of the request that got no answer
        self.bad: list[str] = []  # answers that were neither 2xx nor expected
        self.rng = random.Random(f"{prefix}-{n}")
        self.count = 0

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            op = "create" if not self.acked else self.rng.choices(["create", "patch", "delete"], [4, 5, 1])[0]
            if op == "create":
                article_id = f"{self.prefix}-{i}"
                i += 1
                method, url = "POST", self.url + "/api/v1/articles"
                body = {"id": article_id, "title": f"崩溃测试{article_id}怎么报销",
                        "body": "异地就医备案以后,门诊费用可以直接结算。" * self.rng.randint(5, 30)}
            else:
                article_id = self.rng.choice(sorted(self.acked))
                method, url = ("PATCH" if op == "patch" else "DELETE"), f"{self.url}/api/v1/articles/{article_id}"
                body = {"answer": f"第{self.rng.randint(1, 10**6)}次修改"} if op == "patch" else None
            try:
                response = fresh(method, url, headers=KEY, json=body)
            except requests.RequestException:
                self.inflight = (op, article_id)
                return
            expected = {"create": 201, "patch": 200, "delete": 204}[op]
            if response.status_code != expected:
                self.bad.append(f"{method} {article_id}: {response.status_code} {response.text[:300]}")
                return
            self.count += 1
            if op == "delete":
                del self.acked[article_id]
                self.deleted.add(article_id)
            else:
                self.acked[article_id] = response.json()["version"]


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path):
    data = tmp_path / "data"
    env = {"COMPACT_BYTES": 20000}  # compactions happen during the stream too
    writers_n, cycles = 6, 3
    acked: list[dict[str, int]] = [{} for _ in range(writers_n)]
    deleted: set[str] = set()
    server = Server(data, workers=3, **env).start()
    try:
        for cycle in range(cycles):
            stop = threading.Event()
            writers = [Writer(n, server.url, stop, acked[n], f"c{cycle}-w{n}") for n in range(writers_n)]
            for writer in writers:
                writer.start()
            # Kill after a few acknowledged writes, at a random moment of the stream.
            wait_for(lambda ws=writers: sum(w.count for w in ws) >= 20 or not any(w.is_alive() for w in ws),
                     60, "20 acknowledged writes")
            time.sleep(random.uniform(0, 1.0))
            server.kill()
            stop.set()
            for writer in writers:
                writer.join(30)
                assert not writer.is_alive()
            assert [b for w in writers for b in w.bad] == []
            assert sum(w.count for w in writers) >= 20
            for writer in writers:
                deleted |= writer.deleted

            server = Server(data, workers=3, **env).start()
            ready = fresh("GET", server.url + "/readyz")
            assert ready.status_code == 200
            # The one request of each writer that got no answer may or may not have landed.
            inflight = {w.inflight[1]: w.inflight[0] for w in writers if w.inflight}
            with requests.Session() as session:
                for table in acked:
                    for article_id, version in table.items():
                        got = session.get(f"{server.url}/api/v1/articles/{article_id}", timeout=30)
                        if inflight.get(article_id) == "delete":
                            assert got.status_code in (200, 404)
                            continue
                        assert got.status_code == 200, (article_id, got.text)
                        if inflight.get(article_id) == "patch":  # the unanswered patch may have landed
                            assert got.json()["version"] in (version, version + 1), article_id
                        else:
                            assert got.json()["version"] == version, article_id
                for article_id in deleted:
                    assert session.get(f"{server.url}/api/v1/articles/{article_id}", timeout=30).status_code == 404
            # No phantom or duplicated records: the count is what was acknowledged, give or take
            # the one unanswered request of each writer.
            alive = sum(len(table) for table in acked)
            creates = sum(op == "create" for op in inflight.values())
            deletes = sum(op == "delete" for op in inflight.values())
            count = ready.json()["articles"]
            assert SEED_ARTICLES + alive - deletes <= count <= SEED_ARTICLES + alive + creates, (cycle, inflight)
            check = db_check(data)
            assert check.returncode == 0, check.stdout + check.stderr
            # What the unanswered requests did is settled now: learn it, so the next cycle checks exactly.
            for table in acked:
                for article_id in [a for a in table if a in inflight]:
                    got = fresh("GET", f"{server.url}/api/v1/articles/{article_id}")
                    if got.status_code == 404:
                        del table[article_id]
                        deleted.add(article_id)
                    else:
                        table[article_id] = got.json()["version"]
            for writer in writers:
                if writer.inflight and writer.inflight[0] == "create":
                    got = fresh("GET", f"{server.url}/api/v1/articles/{writer.inflight[1]}")
                    if got.status_code == 200:
                        writer.acked[writer.inflight[1]] = got.json()["version"]
    finally:
        server.kill()


# -- 2. a kill in the middle of a compaction ------------------------------------------------------

CHILD = r"""
import itertools, sys
from pathlib import Path
import orjson
from service.domain.store.store import Store

data, acks, prefix = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
template = orjson.loads(Path(sys.argv[4]).read_bytes())
store = Store(data, compact_bytes=int(sys.argv[5])).open()
with open(acks, "a") as out:
    for i in itertools.count():
        key = f"{prefix}-{i}"
        store.write("articles", key, lambda current: {**template, "id": key, "title": f"子进程写入{i}"})
        out.write(key + "\n")
        out.flush()  # in the kernel now: a SIGKILL cannot lose it
"""
CHILD_COMPACT_BYTES = 30_000  # a compaction every dozen writes or so


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Path:
    """A store whose snapshot is several MB, so writing it takes a while; built once, copied per test."""
    path = tmp_path_factory.mktemp("big") / "data"
    doc = seed_document(ROOT / "seeds")
    originals = doc["articles"]
    doc["articles"] = [{**a, "id": f"{a['id']}-{k}"} for k in range(30) for a in originals]
    store = Store(path, seed=lambda: doc).open()
    assert (path / "snapshot.json").stat().st_size > 4_000_000
    template = dict(next(iter(store.all("articles").values())))
    (path.parent / "template.json").write_bytes(orjson.dumps(template))
    return path


def copy_store(big_store: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(big_store, data)
    shutil.copy(big_store.parent / "template.json", tmp_path / "template.json")
    return data


def start_child(data: Path, acks: Path, prefix: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), str(acks), prefix, str(data.parent / "template.json"),
         str(CHILD_COMPACT_BYTES)],
        cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE,
    )


def kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(30)


def acknowledged(acks: Path) -> list[str]:
    return acks.read_text().split() if acks.exists() else []


def assert_holds(data: Path, keys: list[str]) -> Store:
    store = Store(data).open()
    missing = [k for k in keys if store.get("articles", k) is None]
    assert missing == []
    assert check_document(store.document()) == []
    return store


def stat_key(path: Path):
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def test_kill_while_the_snapshot_temp_file_is_written(big_store, tmp_path):
    data = copy_store(big_store, tmp_path)
    tmp = data / "snapshot.json.tmp"
    acks = tmp_path / "acks.txt"
    hits = attempts = 0
    while hits < 3 and attempts < 8:
        attempts += 1
        before = stat_key(tmp)  # a leftover from the last round, if any: wait for a new write
        child = start_child(data, acks, f"round{attempts}")
        try:
            deadline = time.monotonic() + 45
            while stat_key(tmp) == before and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
            assert child.poll() is None, child.stderr.read().decode()
            os.killpg(child.pid, signal.SIGKILL)  # the moment the temp file is there
        finally:
            kill(child)
        assert stat_key(tmp) != before, "no compaction within 45 s"
        if tmp.exists():
            hits += 1  # killed between writing the temp file and renaming it
        store = assert_holds(data, acknowledged(acks))
        assert store.seq >= len(acknowledged(acks))
    assert hits >= 1, f"never killed between temp write and rename in {attempts} attempts"
    # A leftover temp file confuses nothing (each round after a hit started with one): writes and
    # a compaction go on, and replace it.
    store = Store(data).open()
    store.write("articles", "after-crash", lambda current: {**store.get("articles", acknowledged(acks)[0]),
                                                             "id": "after-crash"})
    store.compact()
    assert not tmp.exists()
    assert_holds(data, [*acknowledged(acks), "after-crash"])


def held_throughout(lock: Path, seconds: float) -> bool:
    """Whether some process holds this lock file the whole time: writes hold it for milliseconds."""
    deadline = time.monotonic() + seconds
    with open(lock, "rb") as handle:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    return True


def test_kill_between_snapshot_rename_and_journal_reset(big_store, tmp_path):
    """Deterministic: the journal's temp file is a FIFO, so the child blocks in the window opening it
    (after its compaction renamed the new snapshot, before the journal is replaced) until it is killed.
    In the second round it starts in that window (the snapshot ahead of the journal) and its first
    write blocks in following the snapshot."""
    data = copy_store(big_store, tmp_path)
    acks = tmp_path / "acks.txt"
    journal_tmp = data / "journal.tmp"  # FileChangeLog.reset() writes journal.jsonl through this name
    snapshot = data / "snapshot.json"
    for round_ in range(2):
        journal_tmp.unlink(missing_ok=True)
        os.mkfifo(journal_tmp)
        before = stat_key(snapshot)
        child = start_child(data, acks, f"round{round_}")
        try:
            blocked = (lambda: held_throughout(data / "journal.jsonl.lock", 1.0)) if round_ else (lambda: False)
            wait_for(lambda: stat_key(snapshot) != before or child.poll() is not None or blocked(),  # noqa: B023
                     45, "a new snapshot")
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.2)  # whatever it does now, it cannot get past opening the FIFO
            assert child.poll() is None
        finally:
            kill(child)
        journal_tmp.unlink()
        # What a crash really leaves there: a half-written temp journal.
        journal_tmp.write_bytes(b'{"base": 99999999')
        snap_seq = orjson.loads(snapshot.read_bytes())["seq"]
        lines = journal_lines(data)
        assert lines[0]["base"] < snap_seq <= lines[-1]["seq"]  # in the window: the old journal is still there
        store = assert_holds(data, acknowledged(acks))
        assert store.seq == lines[-1]["seq"]
    # Writes go on, and the next compaction replaces both the old journal and the leftover.
    template = store.get("articles", acknowledged(acks)[0])
    store.write("articles", "after-crash", lambda current: {**template, "id": "after-crash"})
    store.compact()
    assert journal_lines(data) == [{"base": store.seq}]
    assert not journal_tmp.exists()
    assert_holds(data, [*acknowledged(acks), "after-crash"])


# -- 3. a full disk under the running service -----------------------------------------------------


def worker_pids(master: int) -> set[int]:
    children = set()
    for task in os.listdir(f"/proc/{master}/task"):
        try:
            with open(f"/proc/{master}/task/{task}/children") as handle:
                children.update(int(pid) for pid in handle.read().split())
        except FileNotFoundError:
            pass
    return children


def limit_file_size(pids, limit: int) -> None:
    """Cap the size any write of these processes may reach: past it write() fails with EFBIG
    (Python ignores SIGXFSZ), as on a full disk."""
    for pid in pids:
        _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))


def prlimit_usable() -> str | None:
    """None if we may set RLIMIT_FSIZE on another process; else why not."""
    probe = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        limit_file_size([probe.pid], 1 << 20)
        return None
    except OSError as exc:
        return f"prlimit(RLIMIT_FSIZE) on another process is not permitted here: {exc}"
    finally:
        probe.kill()
        probe.wait()


def test_disk_full_answers_507_keeps_serving_and_loses_nothing(tmp_path):
    reason = prlimit_usable()
    if reason:
        pytest.skip(reason)
    data, metrics = tmp_path / "data", tmp_path / "metrics"
    # Own metrics directory, to see which workers have created their metric files (they are
    # created on a worker's first request, and could not be once files are capped).
    env = {"PROMETHEUS_MULTIPROC_DIR": metrics, "RATE_LIMIT_VIEWS": "1000000 per minute"}
    acked: dict[str, str] = {}
    refused: list[str] = []
    server = Server(data, workers=2, **env).start()

    def post(article_id: str) -> requests.Response:
        response = fresh("POST", server.url + "/api/v1/articles", headers=KEY,
                         json={"id": article_id, "title": f"磁盘满了{article_id}", "body": "医保报销流程。" * 100})
        if response.status_code == 201:
            acked[article_id] = response.json()["title"]
        return response

    try:
        workers = wait_for(lambda: len(worker_pids(server.process.pid)) == 2 and worker_pids(server.process.pid),
                           30, "two workers")
        wait_for(lambda: fresh("GET", server.url + "/healthz").ok
                 and all((metrics / f"{kind}_{pid}.db").exists() for pid in workers
                         for kind in ("counter", "histogram")), 30, "both workers serving")
        for i in range(3):
            assert post(f"before-{i}").status_code == 201

        # The journal may grow by about two more changes, then the disk is "full".
        journal = data / "journal.jsonl"
        line = max(len(raw) for raw in journal.read_bytes().splitlines()) + 1
        limit = journal.stat().st_size + int(2.5 * line)
        limit_file_size(workers, limit)
        for i in range(40):
            response = post(f"full-{i}")
            if response.status_code != 201:
                refused.append(f"full-{i}")
                break
        assert refused, "no write failed under the file size limit"
        assert response.status_code == 507, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 507
        # No partial line, nothing of the refused change; the journal stayed under the limit.
        assert journal.stat().st_size <= limit
        assert refused[0] not in {line.get("key") for line in journal_lines(data)}
        assert post("full-again").status_code == 507
        refused.append("full-again")
        assert worker_pids(server.process.pid) == workers
        # Reads keep working, through both workers, and see exactly what was acknowledged.
        for _ in range(10):
            assert fresh("GET", server.url + "/api/v1/articles", params={"per_page": 5}).status_code == 200
            for article_id in acked:
                assert fresh("GET", f"{server.url}/api/v1/articles/{article_id}").status_code == 200
            for article_id in refused:
                assert fresh("GET", f"{server.url}/api/v1/articles/{article_id}").status_code == 404

        # Now nothing can be written anywhere, views and searches logs included: counting them
        # must neither fail a request nor kill a worker; they wait in memory for space.
        limit_file_size(workers, 1)
        views_before = (data / "views.jsonl").stat().st_size
        article = next(iter(acked))
        for _ in range(6):
            assert fresh("POST", f"{server.url}/api/v1/articles/{article}/views").status_code == 202
            assert fresh("GET", server.url + "/api/v1/search", params={"q": "磁盘满了"}).status_code == 200
            assert fresh("GET", server.url + "/api/v1/recommendations/trending").status_code == 200
        time.sleep(2.5)  # the background flushers try (and fail) at least once
        for _ in range(3):
            assert fresh("GET", server.url + "/api/v1/recommendations/trending").status_code == 200
        assert (data / "views.jsonl").stat().st_size == views_before
        assert worker_pids(server.process.pid) == workers
        assert fresh("GET", server.url + "/readyz").status_code == 200

        # Space returns: writes succeed, and the counted views reach the log.
        limit_file_size(workers, resource.RLIM_INFINITY)
        assert post("after-space").status_code == 201
        wait_for(lambda: fresh("GET", f"{server.url}/api/v1/articles/{article}").json()["views"] == 6
                 and fresh("GET", f"{server.url}/api/v1/articles/{article}").json()["views"] == 6,
                 30, "buffered views flushed")
        assert worker_pids(server.process.pid) == workers
        server.stop()

        server = Server(data, workers=2, **env).start()
        with requests.Session() as session:
            for article_id, title in acked.items():
                got = session.get(f"{server.url}/api/v1/articles/{article_id}", timeout=30)
                assert got.status_code == 200 and got.json()["title"] == title
            for article_id in refused:
                assert session.get(f"{server.url}/api/v1/articles/{article_id}", timeout=30).status_code == 404
            assert session.get(f"{server.url}/api/v1/articles/{article}", timeout=30).json()["views"] == 6
        assert db_check(data).returncode == 0
    finally:
        server.kill()

