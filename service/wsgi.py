"""The WSGI entry point for gunicorn: the app with its store loaded.

Loading here (with preload_app) happens once in the master, so a corrupt or
too-new store stops the service at start, and forked workers share memory.
"""

import gc

from . import create_app

app = create_app()
app.extensions["service"].open()
# Everything loaded so far lives as long as the process: keep the collector
# from touching it, so forked workers share those pages instead of copying them.
gc.freeze()
