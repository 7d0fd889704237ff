"""Benchmarks: `python -m bench` (make bench) runs the service against bare Flask under wrk."""
