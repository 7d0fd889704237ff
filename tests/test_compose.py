"""docker-compose.yml: two API nodes behind a proxy, checked without starting anything.

Where `docker compose` is installed it renders the file (`config -q`). Everywhere, the file is
validated against the Compose specification's JSON schema, the copy vendored in the
check-jsonschema package (pinned in requirements-dev.txt; it refreshes its copy from upstream),
and the things that matter for two nodes are read from the file and the proxy's Caddyfile.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
API = ("api-a", "api-b")
# A made-up digest: API_KEYS has no default, so rendering needs one.
EXAMPLE_KEYS = "sha256:" + "0" * 64


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # PyYAML resolves the `<<: *api` merges as Compose does


def services() -> dict:
    return compose()["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(entry.partition("=")[::2] for entry in env)
    return {name: str(value) for name, value in env.items()}


def mounts(service: dict) -> dict[str, str]:
    """Target -> source of a service's volumes, short or long syntax."""
    found = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            found[rest.split(":")[0]] = source
        else:
            found[volume["target"]] = volume.get("source", "")
    return found


def compose_cli() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def render(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not compose_cli(), reason="docker compose is not installed; the schema test covers the file")
def test_docker_compose_renders_it_and_requires_api_keys():
    # COMPOSE_* (an env file, another project) would change what is rendered.
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMPOSE_")}
    env.pop("API_KEYS", None)
    shown = render({**env, "API_KEYS": EXAMPLE_KEYS})
    assert shown.returncode == 0, shown.stderr
    refused = render(env)
    assert refused.returncode != 0 and "API_KEYS" in refused.stderr


def compose_schema() -> dict:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text(encoding="utf-8"))


def test_matches_the_compose_specification_schema():
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    document = compose()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    # The schema is strict enough to catch a misspelt key, so passing it means something.
    broken = copy.deepcopy(document)
    broken["services"]["api-a"]["depends_onn"] = broken["services"]["api-a"].pop("depends_on")
    assert not validator.is_valid(broken)
    assert "version" not in document, "the Compose specification has no top-level version"


def test_the_services_and_their_images():
    found = services()
    assert set(found) == {"postgres", "redis", *API, "proxy"}
    assert found["postgres"]["image"] == "postgres:15"
    assert found["redis"]["image"] == "redis:7"
    assert found["proxy"]["image"] == "caddy:2"
    for name in API:
        build = found[name]["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        assert (ROOT / context / "Dockerfile").exists(), name


def test_each_node_has_its_own_data_volume():
    found = services()
    declared = compose().get("volumes") or {}
    data_dir = re.search(r"DATA_DIR=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    sources = [mounts(found[name]).get(data_dir) for name in API]
    assert all(source in declared for source in sources), f"named volumes for {data_dir}: {sources}"
    assert len(set(sources)) == len(API), "two nodes must not share a DATA_DIR"
    assert mounts(found["postgres"]).get("/var/lib/postgresql/data") in declared


def test_nodes_reach_the_shared_postgres_and_redis_and_wait_for_them():
    found = services()
    for name in API:
        env = environment(found[name])
        database, redis = urlsplit(env["DATABASE_URL"]), urlsplit(env["REDIS_URL"])
        assert database.scheme == "postgresql" and database.hostname == "postgres" and database.port == 5432
        assert redis.scheme == "redis" and redis.hostname == "redis"
        assert env["TRUSTED_PROXIES"] == "1", "the proxy adds one X-Forwarded-For hop"
        depends = found[name]["depends_on"]
        for backing in ("postgres", "redis"):
            assert depends[backing]["condition"] == "service_healthy", (name, backing)
            assert found[backing]["healthcheck"]["test"], backing
    assert environment(found["api-a"]) == environment(found["api-b"]), "both nodes are configured alike"
    assert "pg_isready" in " ".join(found["postgres"]["healthcheck"]["test"])


def caddy_upstreams(text: str) -> tuple[list[str], list[str]]:
    """The reverse_proxy upstreams and the option lines inside its block."""
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    start = next(i for i, line in enumerate(lines) if line.startswith("reverse_proxy "))
    upstreams = lines[start].removeprefix("reverse_proxy ").removesuffix("{").split()
    options = lines[start + 1:lines.index("}", start)]
    return upstreams, options


def test_the_proxy_round_robins_both_nodes_and_alone_publishes_a_port():
    found = services()
    proxy = found["proxy"]
    assert proxy["ports"] == ["8000:8000"]
    for name, service in found.items():
        if name != "proxy":
            assert "ports" not in service, f"{name} must not be published to the host"
        assert service.get("network_mode") != "host", name
    caddyfile = mounts(proxy)["/etc/caddy/Caddyfile"]
    upstreams, options = caddy_upstreams((ROOT / caddyfile).read_text())
    port = re.search(r"\bPORT=(\d+)", (ROOT / "Dockerfile").read_text()).group(1)
    assert sorted(upstreams) == sorted(f"{name}:{port}" for name in API)
    assert "lb_policy round_robin" in options, "no sticky sessions: any node answers any request"
    assert "health_uri /readyz" in options


SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN", re.I)


def test_no_secret_is_committed():
    for name, service in services().items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                # Required from the environment, with no default to fall back on.
                assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]*\}}", value), (name, variable, value)
            if "://" in value:
                assert urlsplit(value).password is None, (name, variable)
    text = COMPOSE.read_text() + (ROOT / "deploy" / "Caddyfile").read_text()
    assert not re.search(r"sha256:[0-9a-f]{16,}", text), "not even a key's digest"
