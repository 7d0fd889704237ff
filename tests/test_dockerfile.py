"""No Docker engine runs here: the Dockerfile is checked by reading it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_cmd_runs_gunicorn_with_the_real_config_module(tmp_path):
    cmd = json.loads(next(rest for keyword, rest in instructions() if keyword == "CMD"))
    assert cmd[:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    copied = " ".join(rest for keyword, rest in instructions() if keyword == "COPY")
    assert "gunicorn.conf.py" in copied
    # Read the config in its own process: loading it sets up the metrics directory.
    script = ("import json, runpy; c = runpy.run_path('gunicorn.conf.py'); "
              "print(json.dumps([c['wsgi_app'], c['preload_app'], c['workers'] >= 1]))")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    shown = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True)
    wsgi_app, preload, has_workers = json.loads(shown.stdout)
    module, _, attribute = wsgi_app.partition(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).exists() and attribute == "app"
    assert preload is True and has_workers


def test_image_layout_user_volume_and_healthcheck():
    rows = instructions()
    keywords = [keyword for keyword, _ in rows]
    assert rows[0][0] == "FROM" and "slim" in rows[0][1]
    copies = [rest for keyword, rest in rows if keyword == "COPY"]
    assert copies[0].startswith("requirements.txt"), "dependencies before the code"
    pip = keywords.index("RUN", keywords.index("COPY"))
    assert "pip install" in rows[pip][1] and pip < keywords.index("COPY", pip)
    for folder in ("service/", "migrations/", "seeds/"):
        assert any(c.startswith(folder) for c in copies), folder
    user = [rest for keyword, rest in rows if keyword == "USER"]
    assert user and user[-1] not in ("root", "0")
    env = " ".join(rest for keyword, rest in rows if keyword == "ENV")
    data_dir = re.search(r"DATA_DIR=(\S+)", env).group(1)
    assert any(data_dir in rest for keyword, rest in rows if keyword == "VOLUME")
    health = next(rest for keyword, rest in rows if keyword == "HEALTHCHECK")
    assert "/healthz" in health
