"""Where the bench keeps its files: the repository root, and var/bench for what it caches."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"  # git-ignored: corpus cache, profiles, tools
