"""gunicorn settings for the service (used by `make run` and the Dockerfile)."""

import multiprocessing
import os
import shutil
import tempfile

wsgi_app = "service.wsgi:app"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# Load the store once in the master; forked workers share its memory and a
# broken store stops the service before any worker starts.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Chinese in a URL is percent-encoded: q's 200 characters can be 2,400 bytes,
# /search with every parameter at its longest about 3,600, and the service
# itself refuses a query string over 6,144 (url_rules.MAX_QUERY_BYTES).
# gunicorn's default of 4,094 answered a long q with its own HTML 414 before the
# service could say what is wrong; 8,190 is gunicorn's maximum.
limit_request_line = 8190
graceful_timeout = 10
# Access logs are JSON lines written by the app (with the request id).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# prometheus_client's multiprocess mode: every worker writes its metrics to
# files here and /metrics adds them up. The directory must be empty at start.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_own_metrics_dir = not _metrics_dir
if _own_metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="yibao-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
else:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def on_exit(server):
    if _own_metrics_dir:  # a directory we made for this run only
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def pre_fork(server, worker):
    # The master read the store; a worker must not inherit its database connections.
    server.app.wsgi().extensions["service"].store.release()


def post_fork(server, worker):
    # Threads do not survive fork: each worker starts its own event flushers.
    worker.app.wsgi().extensions["service"].start_background()


def worker_exit(server, worker):
    worker.app.wsgi().extensions["service"].close()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
