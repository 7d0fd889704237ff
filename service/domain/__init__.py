"""The domain: plain Python, no Flask. One package per concern, each using only those before it.

    errors, text, lru   the shared kernel
    store               the store of record and the files derived indexes are saved in
    content             what editors write; the one visibility rule (content.article_record)
    search              the search index
    popularity          counted events: trending, 大家都在搜
    recommend           相关推荐 and for-you
    indexes             search and related lists, loaded or built from a store
"""
