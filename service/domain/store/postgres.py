"""The store of record on PostgreSQL: for a service on more than one machine.

Same contract as the JSON store (store.py): every process holds the records in
memory and calls refresh() before serving a request; listeners hear each
change in seq order. Here the records live in a `records` table, and each
write adds a row to `changes` in the same transaction: that table is the log
every process on every node replays.

* Writes take one transaction-scoped advisory lock, read the current record
  from the database, decide, and write record and change together; the UPDATE
  checks the row's version as well. So seqs commit in order (a reader that has
  seen seq n has seen everything before it), If-Match is decided on the newest
  state anywhere, and a write is acknowledged only after its commit.
* Other processes learn of a write three ways: the writer touches a small file
  in its DATA_DIR (the other workers on its machine see it at their next
  request, as they see the journal today); a NOTIFY wakes every node's
  listener thread; and a poll every POLL_SECONDS is the safety net (a
  notification is not stored: a listener that reconnects re-reads from its seq).
* The database unreachable: reads go on from memory, writes raise Unavailable
  (503 with Retry-After), nothing is acknowledged; the pool reconnects by itself.
* Connections are made per process (a pool created after gunicorn forks).
* Every record ever written is in `changes`, the seeds included, so the state
  at any seq can be read back: a node that saved its indexes at seq n starts
  from the records as they were at n and replays the rest, instead of
  building its indexes again (open(resumable=...)).

The schema is created and upgraded from migrations/postgres/NNNN_*.sql (applied
in order, recorded in schema_migrations); a database newer than this code stops
the service with a message, as a newer snapshot does.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import psycopg
from psycopg.types.json import Json
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import Unavailable
from . import migrate
from .materialised import Materialised, log, utcnow
from .snapshot import COLLECTIONS, SCHEMA_VERSION, StoreError, empty_document

SQL_MIGRATIONS = migrate.MIGRATIONS_DIR / "postgres"
WRITE_LOCK = 7_862_001  # pg_advisory_xact_lock key: one writer at a time, so seqs commit in order
SCHEMA_LOCK = 7_862_002  # one process creates or upgrades the schema
CHANNEL = "store_changes"
POLL_SECONDS = 1.0
CONNECT_SECONDS = 3.0
# A request's look for changes waits at most this long for a connection, and after a failure the
# next look waits POLL_SECONDS: with the database gone, reads stay fast, served from memory.
LOOK_SECONDS = 0.5
SIGNAL = "postgres-seq"  # the file in DATA_DIR a writer touches for the other workers on its machine
CHECKPOINT_CHANGES = 1000  # replayed at a start: save the indexes again for the newer state

Error = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def _configure(conn: psycopg.Connection) -> None:
    psycopg.types.json.set_json_loads(orjson.loads, conn)


def sql_migrations(directory: Path = SQL_MIGRATIONS) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(Path(directory).glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path))
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StoreError(f"{directory}: migrations must be numbered 0001, 0002, ... without gaps")
    return found


class PostgresStore(Materialised):
    BACKEND = "postgres"

    def __init__(self, url: str, data_dir: Path, seed: Callable[[], dict] | None = None,
                 migrations_dir: Path = migrate.MIGRATIONS_DIR, sql_dir: Path = SQL_MIGRATIONS):
        super().__init__()
        self.url = url
        self.data_dir = Path(data_dir)
        self._seed = seed
        self.migrations_dir = migrations_dir
        self.sql_dir = sql_dir
        self._pid: int | None = None
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self._stop_listening = threading.Event()  # one per listener thread: release() sets it
        self._listener: threading.Thread | None = None
        self._hint = 0  # the newest seq this process has heard of (NOTIFY, or its own write)
        self._last_poll = 0.0
        self._signal_stamp: tuple | None = None
        self.reachable = True
        self._retry_at = 0.0
        self._store_id = ""

    # -- opening ---------------------------------------------------------

    def open(self, replay: bool = True, resumable: Iterable[str] = ()) -> PostgresStore:
        """Create or upgrade the schema, seed an empty database, load every record.

        `resumable`: snapshot ids the caller has saved indexes for; the newest of
        this store's is where the records are loaded at (then replayed to now).
        """
        try:
            with self._upgraded() as conn:
                self._store_id = conn.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchone()[0]
                at = self._resume_at(conn, resumable)
                # The state indexes were saved for was mapped then: its records need not be read again.
                resumed = self._state_id(conn, at) if at is not None else None
                segment = self._open_segment(resumed, state=resumed) if resumed else None
                if segment is None:
                    doc = self._read_all(conn, at=at)
                    state = self._state_id(conn, doc["seq"])
                    segment = self._segment_of_document(state, doc, state=state)
                    del doc
                    self._release_memory()
                self.snapshot_id = segment.source["state"]
        except Error as exc:
            raise StoreError(f"cannot open the PostgreSQL store: {exc}") from None
        self._use_segment(segment)
        self._hint = self.seq
        if replay:
            self.refresh()
        return self

    def upgrade(self) -> None:
        """Create or migrate the schema and seed an empty database, without reading the records."""
        try:
            with self._upgraded():
                pass
        except Error as exc:
            raise StoreError(f"cannot upgrade the PostgreSQL store: {exc}") from None

    @contextmanager
    def _upgraded(self) -> Iterator[psycopg.Connection]:
        """A connection to a database whose schema and records are at this code's versions."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
            _configure(conn)
            self._upgrade_schema(conn)
            self._upgrade_data(conn)
            yield conn

    def _state_id(self, conn: psycopg.Connection, seq: int) -> str:
        """Names the state at `seq`: the store, the seq, and when that change was made, so a
        database restored from a backup and written again past the same seq is not mistaken
        for the state indexes were saved for."""
        row = conn.execute("SELECT at FROM changes WHERE seq = %s", (seq,)).fetchone()
        stamp = hashlib.sha256(str(row[0] if row else "").encode()).hexdigest()[:8]
        return f"pg.{self._store_id}.{seq}.{stamp}"

    def _resume_at(self, conn: psycopg.Connection, resumable: Iterable[str]) -> int | None:
        """The newest saved state that is still this database's."""
        saved = set(resumable)
        seqs = sorted((int(s.split(".")[2]) for s in saved
                       if s.startswith(f"pg.{self._store_id}.") and s.count(".") == 3), reverse=True)
        return next((seq for seq in seqs if self._state_id(conn, seq) in saved), None)

    def _upgrade_schema(self, conn: psycopg.Connection) -> None:
        known = sql_migrations(self.sql_dir)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                         "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
            if current > len(known):
                raise StoreError(f"the database schema is at version {current}, newer than this service "
                                 f"knows ({len(known)}); upgrade the service")
            for number, path in known[current:]:
                conn.execute(path.read_text(encoding="utf-8"))
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, path.name))
                log.info("database schema migrated to %s (%s)", number, path.name)

    def _upgrade_data(self, conn: psycopg.Connection) -> None:
        """Seed an empty database; take records written by older code to this code's layout."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            row = conn.execute("SELECT value FROM store_meta WHERE name = 'schema_version'").fetchone()
            if row is None:
                doc = self._seed() if self._seed else empty_document()
                doc = migrate.upgrade(doc, self.migrations_dir)
                self._write_all(conn, doc)
                conn.execute("INSERT INTO store_meta (name, value) VALUES ('store_id', %s)",
                             (Json(secrets.token_hex(6)),))
                return
            version = row[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"the records in the database are at schema version {version}, newer "
                                 f"than this service knows ({SCHEMA_VERSION}); upgrade the service")
            if version < SCHEMA_VERSION:
                doc = self._read_all(conn, version, snapshot=False)  # the lock keeps it consistent
                doc = migrate.upgrade(doc, self.migrations_dir)
                conn.execute("DELETE FROM records")
                self._write_all(conn, doc)  # as new changes: every node replays the migration
                log.info("records migrated from schema version %s to %s", version, SCHEMA_VERSION)

    def _write_all(self, conn: psycopg.Connection, doc: dict) -> None:
        """Every record of `doc`, each also as a change (so the log holds every state)."""
        rows = [(name, r[key], Json(r, dumps=_dumps)) for name, key in COLLECTIONS.items() for r in doc.get(name, [])]
        at = utcnow()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO records (kind, key, record) VALUES (%s, %s, %s)", rows)
            cur.executemany("INSERT INTO changes (at, op, kind, key, record) VALUES (%s, 'put', %s, %s, %s)",
                            [(at, *row) for row in rows])
        conn.execute("INSERT INTO store_meta (name, value) VALUES ('schema_version', %s) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (Json(doc["schema_version"]),))

    @staticmethod
    def _read_all(conn: psycopg.Connection, version: int = SCHEMA_VERSION, snapshot: bool = True,
                  at: int | None = None) -> dict:
        """Every record and the seq they are at, from one consistent snapshot of the database:
        now, or as they were at seq `at` (the records changed since, read back from the log)."""
        with conn.transaction():
            if snapshot:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            seq = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
            tables = {name: {} for name in COLLECTIONS}
            for kind, key, record in conn.execute("SELECT kind, key, record FROM records ORDER BY kind, key"):
                tables.setdefault(kind, {})[key] = record
            if at is not None and at < seq:
                later = conn.execute("SELECT DISTINCT kind, key FROM changes WHERE seq > %s", (at,)).fetchall()
                for kind, key in later:
                    tables.setdefault(kind, {}).pop(key, None)
                for kind, key, op, record in conn.execute(
                    "SELECT DISTINCT ON (c.kind, c.key) c.kind, c.key, c.op, c.record FROM changes c "
                    "JOIN (SELECT DISTINCT kind, key FROM changes WHERE seq > %s) l USING (kind, key) "
                    "WHERE c.seq <= %s ORDER BY c.kind, c.key, c.seq DESC", (at, at),
                ):
                    if op == "put":
                        tables.setdefault(kind, {})[key] = record
                seq = at
        doc = {"schema_version": version, "seq": seq}
        doc.update({name: list(records.values()) for name, records in tables.items()})
        return doc

    # -- connections, per process ------------------------------------------

    def _connections(self) -> ConnectionPool:
        with self._pool_lock:
            if self._pid != os.getpid():  # a forked worker must not use its parent's sockets
                self._pid = os.getpid()
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=4, timeout=CONNECT_SECONDS, configure=_configure,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS}, open=True,
                    name=f"store-{self._pid}")
                self._stop_listening = threading.Event()
                self._listener = threading.Thread(target=self._listen, args=(self._stop_listening,),
                                                  name="store-listener", daemon=True)
                self._listener.start()
            return self._pool

    @contextmanager
    def _connection(self):
        try:
            with self._connections().connection() as conn:
                yield conn
        except Error as exc:
            self._unreachable(exc)
            raise Unavailable("The store of record cannot be reached; nothing was written. "
                              "Try again shortly.") from None

    def _unreachable(self, exc: BaseException) -> None:
        if self.reachable:
            log.error("PostgreSQL unreachable, serving reads from memory: %s", exc)
        self.reachable = False
        self._retry_at = time.monotonic() + POLL_SECONDS

    def _listen(self, stop: threading.Event) -> None:
        """Wake on every NOTIFY; after a reconnect, read everything since our seq (notifications
        sent while we were away are not kept). Ends within POLL_SECONDS of `stop`."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._hint = max(self._hint, self.seq + 1)  # missed while away: look
                    while not stop.is_set():
                        for note in conn.notifies(timeout=POLL_SECONDS):
                            self._hint = max(self._hint, int(note.payload))
            except Error:
                stop.wait(POLL_SECONDS)

    # -- reading ---------------------------------------------------------

    def refresh(self) -> int:
        """Apply the changes committed since our seq, when there may be any: cheap otherwise."""
        if not self._due():
            return 0
        with self._mutex:
            try:
                with self._connections().connection(timeout=LOOK_SECONDS) as conn:
                    return self._catch_up(conn)
            except Error as exc:
                self._unreachable(exc)
                return 0

    def _catch_up(self, conn: psycopg.Connection) -> int:
        rows = conn.execute("SELECT seq, at, op, kind, key, record FROM changes WHERE seq > %s ORDER BY seq",
                            (self.seq,)).fetchall()
        if not self.reachable:
            log.info("PostgreSQL reachable again")
            self.reachable = True
        self._last_poll = time.monotonic()
        for seq, at, op, kind, key, record in rows:
            self._apply({"seq": seq, "at": at, "op": op, "kind": kind, "key": key, "record": record})
        return len(rows)

    def _due(self) -> bool:
        if not self.reachable and time.monotonic() < self._retry_at:
            return False
        if self._hint > self.seq or time.monotonic() - self._last_poll >= POLL_SECONDS:
            return True
        try:
            st = os.stat(self.data_dir / SIGNAL)
        except FileNotFoundError:
            return False
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        changed, self._signal_stamp = stamp != self._signal_stamp, stamp
        return changed

    # -- writing ---------------------------------------------------------

    def write(self, kind: str, key: str, decide: Callable[[dict | None], dict | None]):
        """Atomically replace one record with decide(current), current as the database has it.

        decide may raise to refuse (a version conflict, say); returning None
        deletes. Committed before this returns.
        """
        with self._mutex, self._connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                self._catch_up(conn)  # decide sees the newest state, here and in memory alike
                row = conn.execute("SELECT row_version FROM records WHERE kind = %s AND key = %s",
                                   (kind, key)).fetchone()
                old, version = self._data[kind].get(key), (row[0] if row else None)
                new = decide(old)
                if new is None and old is None:
                    return None
                if new is None:
                    conn.execute("DELETE FROM records WHERE kind = %s AND key = %s AND row_version = %s",
                                 (kind, key, version))
                elif old is None:
                    conn.execute("INSERT INTO records (kind, key, record) VALUES (%s, %s, %s)",
                                 (kind, key, Json(new, dumps=_dumps)))
                else:
                    updated = conn.execute(
                        "UPDATE records SET record = %s, row_version = row_version + 1 "
                        "WHERE kind = %s AND key = %s AND row_version = %s",
                        (Json(new, dumps=_dumps), kind, key, version),
                    )
                    if updated.rowcount != 1:  # cannot happen under the lock; never lose a write silently
                        raise StoreError(f"{kind}/{key} changed while being written")
                seq = conn.execute(
                    "INSERT INTO changes (at, op, kind, key, record) VALUES (%s, %s, %s, %s, %s) RETURNING seq",
                    (utcnow(), "delete" if new is None else "put", kind, key,
                     None if new is None else Json(new, dumps=_dumps)),
                ).fetchone()[0]
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(seq)))
        self._hint = max(self._hint, seq)
        self._signal(seq)
        self.refresh()
        return new

    def _signal(self, seq: int) -> None:
        try:
            (self.data_dir / SIGNAL).write_text(str(seq), encoding="ascii")
        except OSError as exc:  # the others still see it by NOTIFY or the poll
            log.warning("cannot touch %s: %s", self.data_dir / SIGNAL, exc)

    def compact(self) -> None:
        """Nothing to fold: the records table is the snapshot."""

    def checkpoint(self, replayed: int) -> None:
        """After a start that replayed many changes: name the state now, so what is derived
        from it is saved for it and the next start replays less."""
        if replayed >= CHECKPOINT_CHANGES:
            try:
                with self._connections().connection(timeout=LOOK_SECONDS) as conn:
                    state = self._state_id(conn, self.seq)
            except Error as exc:
                self._unreachable(exc)
                return
            with self._mutex:
                self._use_segment(self._segment_of_tables(state, state=state))  # the same records
                self.snapshot_id = state
            self._compacted(self.snapshot_id)

    def where(self) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}"

    def existing_version(self) -> int | None:
        """The records' schema version, or None when the database holds no store yet."""
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
                if conn.execute("SELECT to_regclass('store_meta')").fetchone()[0] is None:
                    return None
                row = conn.execute("SELECT value FROM store_meta WHERE name = 'schema_version'").fetchone()
        except Error as exc:
            raise StoreError(f"cannot reach {self.where()}: {exc}") from None
        return None if row is None else int(row[0])

    def backup_name(self, version: int) -> str | None:
        return None  # the database's own backups cover an upgrade

    def latest_seq(self) -> int | None:
        """The newest change committed anywhere; None while the database cannot be reached."""
        try:
            with self._connections().connection(timeout=LOOK_SECONDS) as conn:
                return conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
        except Error as exc:
            self._unreachable(exc)
            return None

    def log_bytes(self) -> int:
        """The change table's size on disk, for /metrics."""
        try:
            with self._connections().connection(timeout=LOOK_SECONDS) as conn:
                return conn.execute("SELECT pg_total_relation_size('changes')").fetchone()[0]
        except Error:
            return 0

    def release(self) -> None:
        """Close this process's connections and stop listening; the next use opens new ones.
        The gunicorn master calls it before forking, so no worker inherits a live socket."""
        with self._pool_lock:
            if self._pool is not None and self._pid == os.getpid():
                self._stop_listening.set()  # not joined: it ends by itself within POLL_SECONDS
                self._pool.close()
            self._pid, self._pool, self._listener = None, None, None

    def close(self) -> None:
        """A worker exiting, a CLI done."""
        self.release()
