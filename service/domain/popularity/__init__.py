"""What readers do, counted: page views and searches, decayed into trending articles and
大家都在搜."""

from .events import EventCounter
from .hot import HotSearches
from .trending import Trending

__all__ = ["EventCounter", "HotSearches", "Trending"]
