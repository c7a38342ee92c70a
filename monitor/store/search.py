"""Article text search: the text filter's condition, served by the full-text index."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, text

from monitor.store.schema import articles

# Letters and digits, as FTS5's unicode61 tokenizer and PostgreSQL's parser split words.
# Everything else (quotes, parentheses, *, -, :, &, |) separates words, so no user input can
# reach either engine's query syntax.
_WORD = re.compile(r"[^\W_]+")

# Names the migration 0002 creates outside schema.py (FTS5 table and its shadow tables,
# the PostgreSQL GIN index); the schema comparison skips them.
SEARCH_OBJECT_NAMES = frozenset({
    "articles_fts", "articles_fts_data", "articles_fts_idx", "articles_fts_docsize",
    "articles_fts_config", "articles_fts_content", "ix_articles_fts",
})

# Identical to the indexed expression of migration 0002, so PostgreSQL uses the GIN index.
_PG_MATCH = text("to_tsvector('simple', articles.title || ' ' || articles.summary) "
                 "@@ to_tsquery('simple', :search_q)")
# The unary + keeps SQLite from driving the query by the matches (a rowid lookup and a sort
# per match: 0.4 s for a word in a third of a million articles); instead it walks the
# (published_at) index newest first and tests membership in the match set, built once
# (0.05 s for common words, 0.1 s for a rare one over all time, benchmarks/dashboard.py).
_SQLITE_MATCH = text("+articles.id IN "
                     "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH :search_q)")


def search_words(term: str) -> list[str]:
    """The words of a user's search term, lower-cased; empty when it has none (e.g. "%-")."""
    return [w.lower() for w in _WORD.findall(term)]


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH string: every word as a quoted prefix ("merg"* AND "rec"*)."""
    return " ".join(f'"{w}"*' for w in words)


def tsquery(words: list[str]) -> str:
    """A to_tsquery string: every word as a prefix (merg:* & rec:*)."""
    return " & ".join(f"{w}:*" for w in words)


def text_condition(conn: Connection, term: str) -> Any:
    """A WHERE condition on articles: term is a case-insensitive substring of title or summary
    that starts at a word.

    The full-text index finds the articles holding every word of term (each as a prefix);
    the substring test then keeps the meaning the filter always had (word order, punctuation,
    "50%" literally) on those candidates only. What the index cannot serve is a substring
    starting inside a word ("erger" no longer finds "merger"). A term without any word (only
    punctuation) is the substring scan alone.
    """
    term = term.replace("\x00", "")  # PostgreSQL rejects NUL in text; never part of a title
    # autoescape: a user's % or _ is a literal character, not a wildcard.
    substring = or_(articles.c.title.icontains(term, autoescape=True),
                    articles.c.summary.icontains(term, autoescape=True))
    words = search_words(term)
    dialect = conn.dialect.name
    if words and dialect == "sqlite":
        return and_(_SQLITE_MATCH.bindparams(bindparam("search_q", fts5_query(words))),
                    substring)
    if words and dialect == "postgresql":
        return and_(_PG_MATCH.bindparams(bindparam("search_q", tsquery(words))), substring)
    return substring
