"""What to read next: 相关推荐 (related lists) and for-you recommendations."""

from .for_you import ForYou
from .related import Related

__all__ = ["ForYou", "Related"]
