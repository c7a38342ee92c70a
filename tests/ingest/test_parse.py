"""parse_feed on bytes: normalisation, guid fallbacks, survivable vs fatal bozo, entity bombs."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from ingest_helpers import item, rss

from monitor.errors import ParseError
from monitor.ingest.parse import content_hash, parse_feed
from monitor.types import ParsedFeed
from tests.conftest import NOW

URL = "http://news.example.com/feeds/markets.xml"
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def parse(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    return parse_feed(body, url=URL, headers=headers or HEADERS, fetched_at=NOW,
                      future_tolerance=timedelta(minutes=10))


def billion_laughs(levels: int = 9) -> bytes:
    decl = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels + 1):
        decl.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(decl) + "\n]>\n"
            '<rss version="2.0"><channel><title>x</title><item><title>'
            f"&lol{levels};</title><guid>a</guid></item></channel></rss>").encode()


def quadratic_blowup(entity_chars: int, refs: int) -> bytes:
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * entity_chars
            + '">\n]>\n<rss version="2.0"><channel><title>x</title><item><title>'
            + "&a;" * refs + "</title><guid>a</guid></item></channel></rss>").encode()


def test_entries_are_normalised() -> None:
    body = rss(item(1, title="<b>Stocks</b> &amp; bonds   rally", link="/a/1",
                    description="<p>Markets <i>rose</i> today.</p>",
                    pubDate="Mon, 02 Nov 2026 09:00:00 -0500"))
    feed = parse(body)
    assert feed.title == "Test feed" and feed.warning is None
    (e,) = feed.entries
    assert e.title == "Stocks & bonds rally"
    assert e.summary == "Markets rose today."
    assert e.link == "http://news.example.com/a/1"
    assert e.published_at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert e.guid == "urn:test:1"


def test_atom_content_links_and_updated_dates() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title>
<entry><title type="html">&lt;b&gt;Bank&lt;/b&gt; cuts rates</title>
<content type="html">&lt;p&gt;The central bank cut rates.&lt;/p&gt;</content>
<link href="rel/7"/><id>tag:example.com,2026:7</id><updated>2026-11-02T10:00:00+01:00</updated>
</entry></feed>"""
    (e,) = parse(body, {"content-type": "application/atom+xml"}).entries
    assert (e.title, e.summary) == ("Bank cuts rates", "The central bank cut rates.")
    assert e.link == "http://news.example.com/feeds/rel/7"
    assert e.published_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert e.guid == "tag:example.com,2026:7"


def test_guid_falls_back_to_link_then_to_a_stable_hash() -> None:
    with_link = {"title": "Only a link", "link": "http://example.com/x"}
    bare = {"title": "Nothing but a title", "pubDate": "Mon, 02 Nov 2026 08:00:00 GMT"}
    first = parse(rss(with_link, bare)).entries
    again = parse(rss(with_link, bare)).entries
    assert first[0].guid == "http://example.com/x"
    assert first[1].guid.startswith("sha256:") and first[1].link is None
    assert [e.guid for e in first] == [e.guid for e in again]  # stable across polls


def test_missing_date_is_fetch_time_and_future_dates_are_clamped() -> None:
    soon = (NOW + timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    late = (NOW + timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    entries = parse(rss({"title": "undated", "guid": "urn:u"},
                        {"title": "soon", "guid": "urn:s", "pubDate": soon},
                        {"title": "late", "guid": "urn:l", "pubDate": late})).entries
    by_guid = {e.guid: e.published_at for e in entries}
    assert by_guid["urn:u"] == NOW
    assert by_guid["urn:s"] == NOW + timedelta(minutes=5)  # within tolerance: kept
    assert by_guid["urn:l"] == NOW


def test_entries_without_title_or_summary_are_skipped_and_summary_gives_a_title() -> None:
    long = "word " * 100
    entries = parse(rss({"guid": "urn:empty", "link": "http://example.com/e"},
                        {"guid": "urn:no-title", "description": long})).entries
    (e,) = entries
    assert e.guid == "urn:no-title" and e.summary == long.strip()
    assert 0 < len(e.title) <= 201 and e.title.endswith("…")


def test_duplicate_guids_in_one_document_keep_the_first() -> None:
    entries = parse(rss(item(1, title="first"), item(1, title="second"), item(2))).entries
    assert [(e.guid, e.title) for e in entries] == [("urn:test:1", "first"),
                                                    ("urn:test:2", "Headline number 2")]


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    assert content_hash("Fed  Raises Rates", "By 25bp.\n") == content_hash("fed raises rates",
                                                                            "by 25bp.")
    assert content_hash("Fed raises rates", "") != content_hash("Fed cuts rates", "")


def test_empty_but_valid_feed_has_no_entries_and_no_warning() -> None:
    feed = parse(rss())
    assert feed.entries == () and feed.warning is None


def test_wrong_declared_encoding_is_survivable_and_decoded() -> None:
    body = rss(item(1, title="Société Générale chute de 5 %"), encoding="latin-1")
    body = body.replace(b'encoding="latin-1"', b'encoding="utf-8"')
    feed = parse(body)
    assert feed.entries[0].title == "Société Générale chute de 5 %"
    assert feed.warning and "utf-8" in feed.warning


def test_feed_served_as_html_content_type_keeps_entries_with_warning() -> None:
    feed = parse(rss(item(1)), {"content-type": "text/html"})
    assert len(feed.entries) == 1 and "not an XML media type" in (feed.warning or "")


def test_html_page_is_a_parse_error() -> None:
    page = b"<!DOCTYPE html><html><head><title>Markets</title></head><body><p>Hi</p></body></html>"
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse(page, {"content-type": "text/html; charset=utf-8"})


@pytest.mark.parametrize("body", [b"", b"   \n", b'{"json": true}', b"<?xml version='1.0'?><a/>"])
def test_things_that_are_not_feeds_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body, {"content-type": "application/xml"})


def test_truncated_document_keeps_complete_entries_and_drops_the_cut_one() -> None:
    body = rss(item(1), item(2), item(3))
    cut = body[: body.index(b"Summary of story 3")]  # inside the third item
    feed = parse(cut)
    assert [e.guid for e in feed.entries] == ["urn:test:1", "urn:test:2"]
    assert feed.warning and "not well-formed XML" in feed.warning and "dropped 1" in feed.warning


def test_truncated_before_any_complete_entry_is_a_parse_error() -> None:
    body = rss(item(1))
    with pytest.raises(ParseError, match="not well-formed XML at line"):
        parse(body[: body.index(b"Summary")])


def test_feedparser_alone_expands_declared_entities() -> None:
    """Why the guard exists: feedparser keeps 'safe' entities and expands them (here 100x)."""
    doc = quadratic_blowup(1000, 200)
    data = feedparser.parse(io.BytesIO(doc))
    assert len(data.entries[0].title) == 200_000 > 100 * len(doc) // 10


@pytest.mark.parametrize("doc", [
    billion_laughs(), quadratic_blowup(10_000, 10_000),
    billion_laughs().decode().encode("utf-16"),
    billion_laughs().replace(b"<!DOCTYPE", b"<!-- <a> -->\n<!DOCTYPE", 1),
    quadratic_blowup(10_000, 10_000).replace(b"<!DOCTYPE rss [", b"<!DOCTYPE rss>\n<!--", 1)
    .replace(b"]>\n<rss", b"-->\n<rss", 1),
], ids=["billion-laughs", "quadratic", "utf16-billion-laughs", "after-comment-with-element",
        "declared-inside-comment"])
def test_entity_expansion_bombs_are_refused_quickly(doc: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(ParseError, match="declares XML entities"):
        parse(doc)
    assert time.monotonic() - started < 1.0


def test_entity_text_inside_cdata_is_not_a_declaration() -> None:
    body = rss(raw_items="<item><title>XML tips</title><guid>urn:x</guid><description>"
                         '<![CDATA[Never write <!ENTITY a "b"> in a feed.]]></description></item>')
    (e,) = parse(body).entries
    assert "<!ENTITY" in e.summary or "Never write" in e.summary
