"""Article text search: the full-text index matches what it should, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Engine

from monitor.store import articles as A
from monitor.store import feeds as F
from monitor.store import search
from monitor.store.engine import make_engine, upgrade
from monitor.store.schema import articles
from monitor.store.views import ArticleFilter, article_page
from monitor.types import Entry, FeedSpec
from tests.conftest import NOW

CORPUS = [
    ("Bank profit beats forecast", "Quarterly earnings rose on lending."),
    ("Oil falls on supply glut", "Crude prices slid as inventories grew."),
    ("Merger talks collapse", "The bank walked away from the deal."),
    ("Gold hits record high", "Investors fled to safety; PROFIT taking followed."),
    ("Dollar rises", "Rates outlook lifts the currency."),
    ("Regulator opens probe", "The probe concerns oil trading and bank fees."),
]


def _seed(engine: Engine, corpus: list[tuple[str, str]] = CORPUS) -> int:
    with engine.begin() as conn:
        F.sync_config_feeds(conn, [FeedSpec("wire", "https://example.com/rss")], NOW)
        found = F.find_feed(conn, "wire")
        assert found is not None
        A.insert_entries(conn, found.id, [
            Entry(guid=f"g{i}", link=None, title=t, summary=s,
                  published_at=NOW - timedelta(minutes=i), content_hash=f"h{i}")
            for i, (t, s) in enumerate(corpus)], NOW)
    return found.id


def _titles(engine: Engine, term: str) -> set[str]:
    with engine.connect() as conn:
        page = article_page(conn, ArticleFilter(text=term), limit=1000)
    return {r["title"] for r in page.rows}


def _like_titles(engine: Engine, term: str) -> set[str]:
    """The old behaviour: case-insensitive substring of title or summary."""
    with engine.connect() as conn:
        q = select(articles.c.title).where(
            articles.c.title.icontains(term, autoescape=True)
            | articles.c.summary.icontains(term, autoescape=True))
        return set(conn.execute(q).scalars())


def test_matches_title_and_summary_case_insensitively(any_engine: Engine) -> None:
    _seed(any_engine)
    assert _titles(any_engine, "bank") == {"Bank profit beats forecast",
                                           "Merger talks collapse", "Regulator opens probe"}
    assert _titles(any_engine, "PROFIT") == {"Bank profit beats forecast",
                                             "Gold hits record high"}
    assert _titles(any_engine, "crude") == {"Oil falls on supply glut"}


def test_a_word_prefix_matches_and_the_term_keeps_its_order(any_engine: Engine) -> None:
    _seed(any_engine)
    assert _titles(any_engine, "invest") == {"Gold hits record high"}
    assert _titles(any_engine, "oil trad") == {"Regulator opens probe"}
    assert _titles(any_engine, "trading oil") == set()  # both words there, not in this order
    assert _titles(any_engine, "oil nothing") == set()
    assert _titles(any_engine, "erger") == set()  # inside a word: not served by the index


HOSTILE = 'Odd: (NEAR "OR" AND -oil*) ^col:x {a b} 50% off_sale \\ \'q\''


@pytest.mark.parametrize("term", [
    '"', "'", '"bank', "bank)", "(bank", "bank AND", "OR bank", "NEAR(bank oil)",
    "bank*", "*", "-bank", "bank -oil", "title:bank", "^bank", "bank & oil | !gold",
    "bank:*", "%", "_", "\\", "; DROP TABLE articles; --", "\x00", "   ", "é",
    '(NEAR "OR"', 'AND -oil*)', '"OR" AND', "^col:x {a b}", "50% off_sale", "\\ 'q'",
    "odd: (near", "{a", "OFF_SALE",
])
def test_hostile_input_never_raises_and_is_taken_literally(any_engine: Engine,
                                                           term: str) -> None:
    _seed(any_engine, [*CORPUS, (HOSTILE, "s")])
    found = _titles(any_engine, term)
    like = _like_titles(any_engine, term.strip().replace("\x00", ""))
    assert found == like  # a substring of HOSTILE starting at a word: found by the index
    if term.strip() and term.lower().strip() in HOSTILE.lower() and term.strip()[0].isalnum():
        assert HOSTILE in found
    with any_engine.connect() as conn:
        assert conn.execute(select(articles.c.id)).first() is not None  # nothing dropped


def test_operator_words_are_plain_words(any_engine: Engine) -> None:
    _seed(any_engine, [("Bank AND oil near record", "s"), ("Bank and oil", "s")])
    assert _titles(any_engine, "near") == {"Bank AND oil near record"}
    assert _titles(any_engine, "AND") == {"Bank AND oil near record", "Bank and oil"}
    assert _titles(any_engine, "bank OR oil") == set()  # "or" is a word no title has


def test_updated_and_deleted_articles_keep_the_index_consistent(any_engine: Engine) -> None:
    _seed(any_engine)
    with any_engine.begin() as conn:
        conn.execute(update(articles).where(articles.c.title == "Dollar rises")
                     .values(title="Euro slumps", summary="Currency weakness."))
        conn.execute(update(articles).where(articles.c.title == "Oil falls on supply glut")
                     .values(sentiment="negative"))  # not a text change
        conn.execute(delete(articles).where(articles.c.title == "Gold hits record high"))
    assert _titles(any_engine, "dollar") == set()
    assert _titles(any_engine, "euro") == _titles(any_engine, "weakness") == {"Euro slumps"}
    assert _titles(any_engine, "crude") == {"Oil falls on supply glut"}
    assert _titles(any_engine, "gold") == set()
    assert _titles(any_engine, "profit") == {"Bank profit beats forecast"}
    if any_engine.dialect.name == "sqlite":
        with any_engine.connect() as conn:  # FTS5's own check of index against content
            conn.execute(text("INSERT INTO articles_fts(articles_fts, rank) "
                              "VALUES ('integrity-check', 1)"))


def test_feed_cascade_delete_leaves_no_stale_matches(any_engine: Engine) -> None:
    fid = _seed(any_engine)
    with any_engine.begin() as conn:
        conn.execute(text("DELETE FROM feeds WHERE id = :id"), {"id": fid})
    assert _titles(any_engine, "bank") == set()
    _seed(any_engine, [("Bank reopens", "s")])
    assert _titles(any_engine, "bank") == {"Bank reopens"}


def test_agrees_with_the_substring_baseline_on_whole_words(any_engine: Engine) -> None:
    _seed(any_engine)
    words_of = {t: set(search.search_words(f"{t} {s}")) for t, s in CORPUS}
    for word in sorted(set().union(*words_of.values())):
        whole = {t for t, ws in words_of.items() if word in ws}
        found, like = _titles(any_engine, word), _like_titles(any_engine, word)
        # Every whole-word hit is found; prefix matching may add more, never a non-substring.
        assert whole <= found <= like, word
    for word in ("bank", "probe", "oil", "rates", "record", "the", "deal", "quarterly"):
        assert _titles(any_engine, word) == _like_titles(any_engine, word), word


def test_search_pages_with_the_other_filters(any_engine: Engine) -> None:
    _seed(any_engine)
    with any_engine.connect() as conn:
        first = article_page(conn, ArticleFilter(text="bank"), limit=2)
        assert first.next_cursor is not None
        rest = article_page(conn, ArticleFilter(text="bank"), limit=2, before=first.next_cursor)
        recent = article_page(conn, ArticleFilter(text="bank",
                                                  start=NOW - timedelta(minutes=1)))
    assert [r["title"] for r in first.rows + rest.rows] == [
        "Bank profit beats forecast", "Merger talks collapse", "Regulator opens probe"]
    assert [r["title"] for r in recent.rows] == ["Bank profit beats forecast"]


def test_query_strings_quote_every_word() -> None:
    assert search.search_words('Merger "AND" (rec*') == ["merger", "and", "rec"]
    assert search.fts5_query(["merger", "and"]) == '"merger"* "and"*'
    assert search.tsquery(["merger", "and"]) == "merger:* & and:*"
    assert search.search_words("-%_*") == []


def test_upgrade_indexes_articles_stored_before_the_search_migration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(eng, "0001")
    _seed(eng)
    upgrade(eng)
    assert _titles(eng, "bank") == {"Bank profit beats forecast", "Merger talks collapse",
                                    "Regulator opens probe"}
    eng.dispose()
