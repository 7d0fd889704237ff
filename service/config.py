"""Configuration from the environment, with defaults that run out of the box."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def from_env(env=os.environ) -> dict:
    return {
        "DATA_DIR": env.get("DATA_DIR", str(ROOT / "var" / "data")),
        # Empty: the embedded JSON store in DATA_DIR. postgresql://...: the shared store of record
        # (DATA_DIR then keeps only what is per machine: counters, saved indexes).
        "DATABASE_URL": env.get("DATABASE_URL", ""),
        "SEEDS_DIR": env.get("SEEDS_DIR", str(ROOT / "seeds")),
        "API_KEYS": env.get("API_KEYS", ""),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
        "CORS_ORIGINS": env.get("CORS_ORIGINS", "*"),
        "COMPACT_BYTES": int(env.get("COMPACT_BYTES", 8 * 1024 * 1024)),
        "RATE_LIMIT": env.get("RATE_LIMIT", "1200 per minute"),
        "RATE_LIMIT_WRITE": env.get("RATE_LIMIT_WRITE", "120 per minute"),
        "RATE_LIMIT_STORAGE": env.get("RATE_LIMIT_STORAGE", "memory://"),
        # Shared by every worker and machine: the view and search counts, and the rate limits.
        "REDIS_URL": env.get("REDIS_URL", ""),
        "REDIS_PREFIX": env.get("REDIS_PREFIX", "yibao:"),
        "RATE_LIMIT_ENABLED": env.get("RATE_LIMIT_ENABLED", "true").lower() not in ("0", "false", "no"),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        "RATE_LIMIT_VIEWS": env.get("RATE_LIMIT_VIEWS", "60 per minute"),
        "TRENDING_HALF_LIFE_HOURS": float(env.get("TRENDING_HALF_LIFE_HOURS", 24)),
        "HOT_HALF_LIFE_HOURS": float(env.get("HOT_HALF_LIFE_HOURS", 72)),
        "HOT_MIN_READERS": int(env.get("HOT_MIN_READERS", 3)),
        "ACCESS_LOG": env.get("ACCESS_LOG", "true").lower() not in ("0", "false", "no"),
    }
