"""What to read next: 相关推荐 (related lists) and for-you recommendations."""
