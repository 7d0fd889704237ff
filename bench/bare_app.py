"""Bare Flask: the captured responses of the real service, served from a dict.

Run by `python -m bench` under gunicorn with the same worker count and sync
workers as the service. $BENCH_BARE_RESPONSES names a pickle of
{request target: (status, [(header, value), ...], body bytes)}; the same
request target gets the same bytes, so the difference to the service is the
service's own work per request (routing, validation, the store, marshmallow,
logging, limits, metrics...), not HTTP, gunicorn or Flask.
"""

from __future__ import annotations

import os
import pickle

from flask import Flask, Response, request

with open(os.environ["BENCH_BARE_RESPONSES"], "rb") as _handle:
    RESPONSES: dict[str, tuple[int, list[tuple[str, str]], bytes]] = pickle.load(_handle)

app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def serve(path: str) -> Response:
    target = request.path
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    found = RESPONSES.get(target)
    if found is None:
        return Response(b"not captured\n", status=404, mimetype="text/plain")
    status, headers, body = found
    return Response(body, status=status, headers=headers)
