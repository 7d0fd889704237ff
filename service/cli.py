"""Command-line tools: flask --app service db upgrade|check, export, import."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from tqdm import tqdm

from .current import current_services as _services
from .domain.content.importing import dataset, import_articles
from .domain.content.pages import PageFormatError, build_articles, parse_page
from .domain.content.taxonomy import load_taxonomy
from .domain.store import migrate
from .domain.store.records import check_document
from .domain.store.snapshot import SCHEMA_VERSION, StoreError
from .upgrade import upgrade

db = AppGroup("db", help="The store (JSON files or PostgreSQL): create, migrate and check.")


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@db.command("upgrade")
def db_upgrade():
    """Apply pending migrations (a copy of the old snapshot is kept).

    Only the store: its indexes are built (or loaded) by the service that opens it, and a
    store with nothing to migrate is not even read.
    """
    try:
        click.echo(upgrade(_services().store))
    except StoreError as exc:
        _fail(str(exc))


@db.command("check")
def db_check():
    """Validate every record of the store against the schemas."""
    store = _services().store
    try:
        missing = store.existing_version() is None
    except StoreError as exc:
        _fail(str(exc))
    if missing:  # opening would create it from the seeds: checking must not
        _fail(f"no store at {store.where()}; `db upgrade` creates one")
    try:
        services = _services().open()
    except StoreError as exc:
        _fail(str(exc))
    problems = check_document(services.store.document())
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        _fail(f"{len(problems)} problem(s) in {services.store.data_dir}")
    store = services.store
    click.echo(f"ok: {len(store.all('articles'))} articles, {len(store.all('topics'))} topics, "
               f"seq {store.seq}, schema version {SCHEMA_VERSION}")


@click.command("export")
@with_appcontext
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True), default="-")
def export(output):
    """Write a JSON backup of the whole store to OUTPUT (default: stdout)."""
    doc = _services().open().store.document()
    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    if output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(output).write_bytes(data)
        click.echo(f"wrote {len(doc['articles'])} articles and {len(doc['topics'])} topics to {output}",
                   err=True)


@click.command("import")
@with_appcontext
@click.argument("source", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_(source):
    """Load a JSON backup (as made by export) into the store, record by record.

    Every record is validated first; nothing is written unless all are valid.
    Records are written through the journal, so running workers see them.
    """
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    doc = _backup(source, raw)
    version = doc["schema_version"]
    if version > SCHEMA_VERSION:
        _fail(f"{source}: schema version {version} is newer than this service knows ({SCHEMA_VERSION})")
    try:
        doc = migrate.upgrade(doc)
    except (StoreError, KeyError, TypeError) as exc:
        _fail(f"{source}: cannot migrate from schema version {version} ({exc})")
    problems = check_document(doc)
    if problems:
        for problem in problems:
            click.echo(f"{source}: {problem}", err=True)
        _fail(f"{source}: {len(problems)} invalid record(s); nothing imported")
    store = _services().open().store
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    for kind, key in (("topics", "slug"), ("articles", "id"), ("pins", "query")):
        for record in doc.get(kind, []):
            current = store.get(kind, record[key])
            if current == record:  # re-importing a backup must not grow the journal
                counts["unchanged"] += 1
                continue
            counts["new" if current is None else "updated"] += 1
            store.write(kind, record[key], lambda current, record=record: record)
    click.echo(f"imported {len(doc.get('articles', []))} articles, {len(doc.get('topics', []))} topics "
               f"and {len(doc.get('pins', []))} pins: "
               + ", ".join(f"{n} {what}" for what, n in counts.items()))


def _backup(source: str, raw: bytes) -> dict:
    """The backup document in raw, or exit saying why it is not one (before touching the store)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        _fail(f"{source}: not a backup made by export: not valid JSON ({exc})")
    if not isinstance(doc, dict):
        _fail(f"{source}: not a backup made by export: expected a JSON object, found a {_json_kind(doc)}")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        _fail(f"{source}: not a backup made by export: no integer 'schema_version'")
    missing = [name for name in ("articles", "topics") if not isinstance(doc.get(name), list)]
    if missing:
        _fail(f"{source}: not a backup made by export: {' and '.join(repr(m) for m in missing)} "
              "must be lists")
    if "pins" in doc and not isinstance(doc["pins"], list):
        _fail(f"{source}: not a backup made by export: 'pins' must be a list")
    return doc


def _json_kind(value) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


@click.command("import-pages")
@with_appcontext
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write the dataset JSON (as in seeds/articles.json) instead of importing into the store.")
def import_pages(files, output):
    """Import seed-format pages (title, answer, body, 相关推荐 cards) as articles.

    Idempotent: ids are stable, and unchanged articles are left alone.
    """
    parsed = []
    try:
        for path in tqdm(files, desc="parsing", unit="page", file=sys.stderr, disable=None):
            parsed.append((Path(path).name, parse_page(Path(path).read_text(encoding="utf-8"), source=path)))
    except PageFormatError as exc:
        _fail(str(exc))
    except UnicodeDecodeError as exc:
        _fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    if output:
        result = build_articles(parsed, load_taxonomy())
        Path(output).write_bytes(orjson.dumps(dataset(result.articles), option=orjson.OPT_INDENT_2) + b"\n")
        click.echo(f"wrote {len(result.articles)} articles to {output}")
    else:
        store = _services().open().store
        result = build_articles(parsed, list(store.all("topics").values()))
        with tqdm(total=len(result.articles), desc="importing", unit="article", file=sys.stderr,
                  disable=None) as bar:
            counts = import_articles(store, result.articles, bar.update)
        click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))
    for what, why in result.skipped:
        click.echo(f"skipped {what}: {why}")


def register(app: Flask) -> None:
    app.cli.add_command(db)
    app.cli.add_command(export)
    app.cli.add_command(import_, "import")
    app.cli.add_command(import_pages)

