"""Building: articles turned into postings rows (term id, docno, impact).

Documents are tokenised in rjieba's search mode (异地就医 is also indexed as
异地 and 就医), per field; title pinyin syllable bigrams go to a second
postings list. A build and an upsert share one path from token rows to
impacts (a batch of one for an upsert), so an article indexed either way is
scored the same. Tokenising is ~90% of a build, so a build may split it
over forked processes: only word ids and per-field counts cross back, with
each title's suggestion keys (suggest.keys_of: its phrase-aware pinyin,
computed here once so no worker computes it again at start).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import numpy as np

from .. import text
from ..forked import batch_map
from . import scoring
from .pinyin import title_keys
from .postings import Postings, Vocab
from .scoring import FIELDS
from .suggest import keys_of

BODY_CHARS = 4000  # index the opening of long bodies: it carries the answer
BATCH = 2048  # articles a build tokenises per task
_MD_LINK = re.compile(r"\]\([^)]*\)|https?://\S+")


def fingerprint() -> list:
    """What is baked into saved impacts: a file built under other settings is stale."""
    return json.loads(json.dumps([BODY_CHARS, *scoring.settings()]))


def _field_texts(article: dict) -> list[str]:
    meta = " ".join([*(article.get("tags") or []), article.get("category") or ""])
    body = _MD_LINK.sub(" ", (article.get("body") or "")[:BODY_CHARS])
    return [
        article.get("title") or "",
        article.get("answer") or "",
        article.get("summary") or "",
        meta,
        body,
    ]


def article_tokens(article: dict) -> tuple[list[list[str]], list[str]]:
    """(search tokens per field, title pinyin keys): what a build and an upsert index."""
    fields = [text.search_tokens(value) if value else [] for value in _field_texts(article)]
    return fields, title_keys(text.normalise(article.get("title") or ""))


# -- one article -----------------------------------------------------------


def index_one(article: dict, docno: int, postings: Postings, pinyin: Postings) -> tuple[str, str, str]:
    """Append the article's impacts, as docno, to both postings' deltas; its title's suggestion keys."""
    fields, keys = article_tokens(article)
    vocab = postings.vocab
    tids = np.fromiter((vocab[w] for words in fields for w in words), np.int64)
    lens = np.fromiter(map(len, fields), np.int64, len(fields))
    flds = np.repeat(np.arange(len(FIELDS)), lens)
    terms, _, impacts = _flush(docno, tids, flds, np.full(len(tids), docno), lens)
    if len(terms):
        postings.add(docno, dict(zip(terms.tolist(), impacts.tolist(), strict=True)))
    if keys:
        kids = np.fromiter(map(pinyin.vocab.__getitem__, keys), np.int64, len(keys))
        kterms, _, kimpacts = _pinyin_rows(kids, np.full(len(kids), docno))
        pinyin.add(docno, dict(zip(kterms.tolist(), kimpacts.tolist(), strict=True)))
    return keys_of(article.get("title") or "")


# -- all articles ----------------------------------------------------------


def index_all(
    articles: list[dict], postings: Postings, pinyin: Postings, workers: int = 1
) -> list[tuple[str, str, str]]:
    """Load both postings with the articles' impacts, articles[n] as docno n;
    the titles' suggestion keys by docno.

    workers > 1 forks that many processes (Linux) for the tokenising.
    """
    return _collect(batch_map(_tokenise_batch, articles, BATCH, workers), postings, pinyin)


def _tokenise_batch(articles: list[dict], lo: int, hi: int) -> tuple:
    """Tokens of articles[lo:hi] as ids over a batch-local vocabulary.

    Only the word ids (int32) and per-field counts cross the process
    boundary; field and docno of each token follow from the counts.
    """
    local = Vocab()
    tids: list[int] = []
    lens: list[int] = []
    keys = Vocab()
    kids: list[int] = []
    kcounts: list[int] = []
    titles: list[tuple[str, str, str]] = []
    for docno in range(lo, hi):
        fields, found = article_tokens(articles[docno])
        titles.append(keys_of(articles[docno].get("title") or ""))
        for words in fields:
            tids.extend(map(local.__getitem__, words))
            lens.append(len(words))
        kids.extend(map(keys.__getitem__, found))
        kcounts.append(len(found))
    return (
        lo, list(local), np.asarray(tids, np.int32), np.asarray(lens, np.int64),
        list(keys), np.asarray(kids, np.int32), np.asarray(kcounts, np.int64), titles,
    )


def _collect(batches: Iterable[tuple], postings: Postings, pinyin: Postings) -> list[tuple[str, str, str]]:
    """Map the batches' local ids to the postings' vocabularies (in batch order) and load them;
    the suggestion keys of all batches."""
    vocab, pvocab = postings.vocab, pinyin.vocab
    term_rows: list[tuple[np.ndarray, ...]] = []
    pkeys: list[np.ndarray] = []
    pdocs: list[np.ndarray] = []
    nf = len(FIELDS)
    suggest_keys: list[tuple[str, str, str]] = []
    for first, words, tids, lens, keys, kids, kcounts, titles in batches:
        suggest_keys.extend(titles)
        ndocs = len(kcounts)
        to_global = np.fromiter(map(vocab.__getitem__, words), np.int64, len(words))
        flds = np.repeat(np.tile(np.arange(nf), ndocs), lens)
        dnos = np.repeat(np.arange(first, first + ndocs), lens.reshape(-1, nf).sum(axis=1))
        kdocs = np.repeat(np.arange(first, first + ndocs), kcounts)
        term_rows.append(_flush(first, to_global[tids], flds, dnos, lens))
        key_map = np.fromiter(map(pvocab.__getitem__, keys), np.int64, len(keys))
        pkeys.append(key_map[kids])
        pdocs.append(kdocs)
    postings.load(*_stack(term_rows))
    if pkeys and sum(map(len, pkeys)):
        pinyin.load(*_pinyin_rows(np.concatenate(pkeys), np.concatenate(pdocs)))
    return suggest_keys


def _stack(rows: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.uint8)
    return tuple(np.concatenate(parts) for parts in zip(*rows, strict=True))


# -- token rows to impacts -------------------------------------------------


def _flush(first, tids, flds, dnos, lens) -> tuple[np.ndarray, ...]:
    """Turn one batch of token rows into (term, docno, impact) rows."""
    length = np.asarray(lens, np.float64).reshape(-1, len(FIELDS))
    ndocs = length.shape[0]
    t = np.asarray(tids, np.int64)
    if not len(t):
        return t, t.astype(np.int32), t.astype(np.uint8)
    d = np.asarray(dnos, np.int64) - first
    f = np.asarray(flds, np.int64)
    nf = len(FIELDS)
    span = ndocs * nf
    uniq, tf = np.unique((t * span + d * nf + f), return_counts=True)
    f = uniq % nf
    d = (uniq // nf) % ndocs
    contrib = scoring.field_tf(tf, f, length[d, f])
    in_title = f == 0
    pair = uniq // nf  # (term, doc) key; fields of a pair are adjacent
    starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
    title = np.add.reduceat(np.where(in_title, contrib, 0.0), starts)
    rest = np.add.reduceat(np.where(in_title, 0.0, contrib), starts)
    return (pair[starts] // ndocs), (d[starts] + first), scoring.impact(title, rest)


def _pinyin_rows(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, ...]:
    """(bigram id, docno, impact) rows of these (bigram id, docno) occurrences."""
    pairs, tf = np.unique(keys.astype(np.int64) * (1 << 32) + docs, return_counts=True)
    k, d = pairs >> 32, pairs & 0xFFFFFFFF
    doc_ids, per_doc = np.unique(docs, return_counts=True)
    return k, d, scoring.pinyin_impact(tf, per_doc[np.searchsorted(doc_ids, d)])
