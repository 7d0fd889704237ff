"""The WSGI entry point for gunicorn: the app with its store loaded.

Loading here (with preload_app) happens once in the master, so a corrupt or
too-new store stops the service at start, and forked workers share memory.
"""

from . import create_app

app = create_app()
app.extensions["service"].open()
