"""What readers do, counted: page views and searches, decayed into trending articles and
大家都在搜."""
