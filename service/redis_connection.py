"""The Redis that REDIS_URL names: one client per process part, made to fail fast.

Everything that uses it (the event counters, the rate limits) goes on without
it, so a request must not wait long on it: connecting gives up after a
second, a command after two, and a failed command is tried once more on a
new connection (a Redis that restarted leaves the pooled ones dead), not
with redis-py's default backoff. The pool is per process: after a fork the
client opens new connections by itself.
"""

from __future__ import annotations

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_SECONDS = 1.0
COMMAND_SECONDS = 2.0


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=CONNECT_SECONDS, socket_timeout=COMMAND_SECONDS,
                          retry=Retry(NoBackoff(), 1))
