"""flask --app service db upgrade | db check | export | import, and python -m service.upgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from service import create_app
from service.domain.store.snapshot import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]


def cli_app(data_dir):
    return create_app({"DATA_DIR": str(data_dir), "API_KEYS": "k"})


def test_db_upgrade_creates_then_migrates(tmp_path):
    fresh = cli_app(tmp_path / "fresh").test_cli_runner().invoke(args=["db", "upgrade"])
    assert fresh.exit_code == 0 and f"at schema version {SCHEMA_VERSION}" in fresh.output

    old = tmp_path / "old"
    old.mkdir()
    (old / "snapshot.json").write_bytes(orjson.dumps({
        "schema_version": 1, "seq": 0, "topics": [],
        "articles": [{"id": "a", "title": "t", "date": "2025-01-01", "topics": []}],
    }))
    result = cli_app(old).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"from schema version 1 to {SCHEMA_VERSION}" in result.output
    assert (old / "snapshot.v1.json").exists()
    again = cli_app(old).test_cli_runner().invoke(args=["db", "upgrade"])
    assert "nothing to do" in again.output


def test_db_upgrade_with_nothing_to_do_does_not_read_the_records(tmp_path):
    # A store at this version whose records would not even parse: only its first bytes are read.
    head = orjson.dumps({"schema_version": SCHEMA_VERSION, "seq": 0})[:-1]
    (tmp_path / "snapshot.json").write_bytes(head + b', "articles": [{"id": "a", ' + b"x" * 1000)
    result = cli_app(tmp_path).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "nothing to do" in result.output, result.output
    check = cli_app(tmp_path).test_cli_runner().invoke(args=["db", "check"])
    assert check.exit_code == 1 and "not valid JSON" in check.output


def test_db_upgrade_refuses_a_newer_store(tmp_path):
    (tmp_path / "snapshot.json").write_bytes(orjson.dumps({"schema_version": 99, "seq": 0}))
    result = cli_app(tmp_path).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "snapshot.json" in result.output and "99" in result.output


def test_db_check_passes_on_seeds_and_names_bad_records(app, runner):
    ok = runner.invoke(args=["db", "check"])
    assert ok.exit_code == 0 and ok.output.startswith("ok:")
    store = app.extensions["service"].store
    app.extensions["service"].hot_rules.put("医保卡", "pin", 1)
    assert runner.invoke(args=["db", "check"]).exit_code == 0
    store.write("pins", "坏", lambda current: {"query": "坏", "action": "star"})
    store.write("articles", "broken", lambda current: {"id": "broken", "title": "", "topics": ["nope"]})
    bad = runner.invoke(args=["db", "check"])
    assert bad.exit_code == 1
    assert "id broken" in bad.output and "title" in bad.output and "no topic 'nope'" in bad.output
    assert "pins[1] (query 坏): action" in bad.output


def test_export_then_import_round_trips(app, runner, client, tmp_path, write_headers):
    client.post("/api/v1/articles", json={"id": "exported", "title": "导出", "body": "正文"}, headers=write_headers)
    backup = tmp_path / "backup.json"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    doc = orjson.loads(backup.read_bytes())
    assert doc["schema_version"] == SCHEMA_VERSION and any(a["id"] == "exported" for a in doc["articles"])

    other = cli_app(tmp_path / "other")
    result = other.test_cli_runner().invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    assert other.extensions["service"].store.get("articles", "exported")["title"] == "导出"


def test_a_version_2_backup_imports_without_its_stored_views(runner, tmp_path):
    backup = tmp_path / "backup.json"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    doc = orjson.loads(backup.read_bytes())
    doc["schema_version"] = 2
    for article in doc["articles"]:
        article["views"] = 0  # what version 2 stored
    backup.write_bytes(orjson.dumps(doc))
    other = cli_app(tmp_path / "other")
    result = other.test_cli_runner().invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    assert not [a for a in other.extensions["service"].store.all("articles").values() if "views" in a]
    assert other.test_cli_runner().invoke(args=["db", "check"]).exit_code == 0


def test_import_rejects_invalid_files_and_writes_nothing(tmp_path):
    app = cli_app(tmp_path / "data")
    runner = app.test_cli_runner()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in runner.invoke(args=["import", str(broken)]).output
    invalid = tmp_path / "invalid.json"
    invalid.write_bytes(orjson.dumps({"schema_version": SCHEMA_VERSION, "topics": [],
                                      "articles": [{"id": "x", "title": "t"}]}))
    result = runner.invoke(args=["import", str(invalid)])
    assert result.exit_code == 1 and "id x" in result.output and "nothing imported" in result.output
    assert app.extensions["service"].open().store.get("articles", "x") is None


NOT_BACKUPS = {
    "list.json": b'[{"id": "a", "title": "t"}]',
    "empty.json": b"{}",
    "topics-only.json": orjson.dumps({"schema_version": SCHEMA_VERSION, "topics": []}),
    "version-text.json": orjson.dumps({"schema_version": "2", "topics": [], "articles": []}),
    "notes.txt": "随便写的一些文字\n不是备份\n".encode(),
    "binary.bin": bytes(range(256)),
}


def _tree(path):
    return sorted((p.relative_to(path), p.stat().st_size) for p in path.rglob("*")) if path.exists() else None


def test_import_of_what_is_not_a_backup_fails_and_changes_nothing(tmp_path):
    seeded = tmp_path / "seeded"
    assert cli_app(seeded).test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    files = dict(NOT_BACKUPS)
    files["page.txt"] = sorted((ROOT / "seeds" / "pages").glob("*.txt"))[0].read_bytes()
    for name, content in files.items():
        source = tmp_path / name
        source.write_bytes(content)
        for data_dir in (seeded, tmp_path / "missing"):
            before = _tree(data_dir)
            result = cli_app(data_dir).test_cli_runner().invoke(args=["import", str(source)])
            assert result.exit_code == 1, (name, result.output)
            assert "not a backup made by export" in result.output, (name, result.output)
            assert _tree(data_dir) == before, name


def test_importing_a_backup_identical_to_the_store_writes_nothing(app, runner, client, tmp_path, write_headers):
    store = app.extensions["service"].store
    client.post("/api/v1/articles", json={"id": "kept", "title": "备份", "body": "正文"}, headers=write_headers)
    app.extensions["service"].hot_rules.put("医保卡", "pin", 1)
    backup = tmp_path / "backup.json"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    seq = store.seq
    result = runner.invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated" in result.output and "unchanged" in result.output
    assert store.seq == seq  # not one change written

    doc = orjson.loads(backup.read_bytes())
    doc["articles"] = [dict(a, title="改过的标题") if a["id"] == "kept" else a for a in doc["articles"]]
    backup.write_bytes(orjson.dumps(doc))
    changed = runner.invoke(args=["import", str(backup)])
    assert changed.exit_code == 0 and "0 new, 1 updated" in changed.output, changed.output
    assert store.seq == seq + 1


def test_import_restores_pins(app, runner, tmp_path):
    app.extensions["service"].hot_rules.put("医保卡", "pin", 1)
    backup = tmp_path / "backup.json"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    other = cli_app(tmp_path / "other")
    assert other.test_cli_runner().invoke(args=["import", str(backup)]).exit_code == 0
    assert other.extensions["service"].store.get("pins", "医保卡")["action"] == "pin"


def test_db_check_on_a_missing_store_says_so_and_creates_nothing(tmp_path):
    data_dir = tmp_path / "nowhere"
    result = cli_app(data_dir).test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 1
    assert "no store" in result.output and str(data_dir) in result.output
    assert not data_dir.exists()
    data_dir.mkdir()  # an empty directory is no store either
    assert cli_app(data_dir).test_cli_runner().invoke(args=["db", "check"]).exit_code == 1
    assert list(data_dir.iterdir()) == []


UPGRADE_ALONE = """
import sys
from service import upgrade
code = upgrade.main()
print(sorted({"flask", "flask_restx", "marshmallow", "rjieba", "pypinyin", "psycopg"} & set(sys.modules)))
sys.exit(code)
"""


def test_the_upgrade_make_run_runs_imports_only_the_store(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    run = lambda: subprocess.run([sys.executable, "-c", UPGRADE_ALONE], env=env, cwd=ROOT,  # noqa: E731
                                 capture_output=True, text=True, timeout=60)
    first, again = run(), run()
    assert first.returncode == 0 and f"at schema version {SCHEMA_VERSION}" in first.stdout, first.stderr
    assert (tmp_path / "data" / "snapshot.json").exists()
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert again.stdout.strip().endswith("[]")  # no web stack, no tokenisers, no database driver
    (tmp_path / "data" / "snapshot.json").write_bytes(b'{"schema_version": 99, "seq": 0}')
    newer = run()
    assert newer.returncode == 1 and "newer" in newer.stderr
