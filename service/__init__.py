"""医保 knowledge API: create_app() builds the Flask application (service/app.py).

The package itself imports nothing: `python -m service.upgrade`, which `make run` runs before
gunicorn, needs only the store, not the web stack or the tokenisers (seconds of imports).
"""

from __future__ import annotations


def create_app(overrides: dict | None = None):
    from .app import create_app as build

    return build(overrides)
