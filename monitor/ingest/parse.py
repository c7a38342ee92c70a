"""Parse fetched bytes with feedparser into normalised entries; decide which bozo is fatal."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import re
import xml.sax
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.errors import ParseError
from monitor.text import html_to_text
from monitor.types import Entry, ParsedFeed

_WS = re.compile(r"\s+")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
# A closed entry: </item>, </entry>, </atom:entry>, </rss:item> ...
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)
_DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")
_TITLE_FROM_SUMMARY_CHARS = 200
# BOM-less UTF-16/32 announce themselves by the NULs around the first '<'.
_WIDE_PREFIXES = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
                  (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str], fetched_at: datetime,
               future_tolerance: timedelta) -> ParsedFeed:
    """Parse one fetched document; raise ParseError when nothing usable could be read.

    Survivable problems (a wrong declared encoding, a non-XML content type, a well-formedness
    slip after which entries still came out) keep the entries and set ParsedFeed.warning.
    """
    if not body.strip():
        raise ParseError(f"{url} returned an empty document, not a feed")
    reject_entity_declarations(body, url)
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("content-type", "application/xml")
    # Content-Location is feedparser's base for relative links in the document.
    lowered["content-location"] = url
    data = feedparser.parse(io.BytesIO(body), response_headers=lowered)
    raw_entries = list(data.entries)
    warning = None
    if data.bozo:
        raw_entries, warning = _judge_bozo(data, raw_entries, body, url)
    elif not data.get("version") and not raw_entries:
        raise ParseError(f"{url} is XML but not an RSS or Atom feed (no channel or entries "
                         "found); check that the URL points at the feed itself")
    entries: dict[str, Entry] = {}
    for raw in raw_entries:
        entry = normalise_entry(raw, url=url, fetched_at=fetched_at,
                                future_tolerance=future_tolerance)
        if entry is not None:
            entries.setdefault(entry.guid, entry)  # duplicate guid in one document: first wins
    title = html_to_text(data.feed.get("title")) or None
    return ParsedFeed(title=title, entries=tuple(entries.values()), warning=warning)


def _judge_bozo(data: Any, raw_entries: list[Any], body: bytes,
                url: str) -> tuple[list[Any], str | None]:
    """Keep what survives a bozo document, or raise ParseError when nothing usable is left."""
    exc = data.get("bozo_exception")
    is_feed = bool(data.get("version")) or bool(raw_entries)
    if isinstance(exc, xml.sax.SAXParseException):
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        problem = f"not well-formed XML at {where} ({exc.getMessage()})"
        # feedparser's lenient fallback also yields an entry cut off by truncation; keep
        # only entries whose closing tag is in the document, so nothing half-written is stored.
        closed = len(_ENTRY_END.findall(_ascii_view(body)))
        dropped = max(0, len(raw_entries) - closed)
        raw_entries = raw_entries[:closed]
        if not raw_entries:
            kind = "a feed" if is_feed else "an RSS or Atom feed"
            raise ParseError(f"{url} is not {kind} that can be read: {problem}; "
                             "no complete entries found")
        extra = f", dropped {dropped} incomplete" if dropped else ""
        return raw_entries, f"{problem}; kept {len(raw_entries)} entries{extra}"
    message = str(exc) if exc is not None else "unknown problem"
    if not is_feed:
        ctype = data.get("headers", {}).get("content-type", "unknown type")
        raise ParseError(f"{url} is not an RSS or Atom feed ({ctype}; {message}); "
                         "it may be a web page: look for the page's RSS link")
    # Encoding overrides, non-XML content types and the like: the entries are fine.
    return raw_entries, f"feed has a minor problem, entries kept: {message}"


def reject_entity_declarations(body: bytes, url: str) -> None:
    """Refuse documents that declare XML entities (billion-laughs / quadratic blow-up).

    expat caps entity amplification, but feedparser then falls back to its lenient parser,
    which expands the "safe" entities it kept: a 40 kB document became a 100 MB title in
    our test. Real feeds do not declare entities, so refusing them costs nothing.
    """
    view = _ascii_view(body)
    # feedparser re-declares entities it finds anywhere before the first element (even in a
    # comment); expat honours a DOCTYPE wherever the prolog puts it. Check both views:
    # the head as feedparser splits it, and the whole document outside CDATA text.
    first = _FIRST_ELEMENT.search(view)
    head = view[: first.start()] if first else view
    if _ENTITY_DECL.search(head) or _ENTITY_DECL.search(_CDATA.sub(b"", view)):
        raise ParseError(f"{url}: document declares XML entities; refused because entity "
                         "expansion can exhaust memory (entity-expansion bomb)")


def _ascii_view(body: bytes) -> bytes:
    """The document's bytes in an ASCII-compatible encoding, so markup can be searched."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace").encode("utf-8")
    for prefix, codec in _WIDE_PREFIXES:
        if body.startswith(prefix):
            return body.decode(codec, errors="replace").encode("utf-8")
    return body


def normalise_entry(raw: Mapping[str, Any], *, url: str, fetched_at: datetime,
                    future_tolerance: timedelta) -> Entry | None:
    """One feedparser entry as an Entry; None when it has neither title nor summary."""
    title = html_to_text(raw.get("title"))
    summary = html_to_text(_summary_html(raw))
    if not title and not summary:
        return None
    if not title:
        title = _shorten(summary, _TITLE_FROM_SUMMARY_CHARS)
    link = absolute_link(raw.get("link"), url)
    raw_date = _entry_date(raw)
    published = raw_date or fetched_at
    if published > fetched_at + future_tolerance:
        published = fetched_at  # a clock or timezone bug upstream; keep the article, fix time
    guid = (str(raw.get("id") or "").strip() or link
            or "sha256:" + _sha256(title, raw_date.isoformat() if raw_date else ""))
    return Entry(guid=guid, link=link, title=title, summary=summary, published_at=published,
                 content_hash=content_hash(title, summary))


def content_hash(title: str, summary: str) -> str:
    """Hash of the normalised (title, summary): a re-published copy hashes the same."""
    return _sha256(_WS.sub(" ", title).strip().lower(), _WS.sub(" ", summary).strip().lower())


def absolute_link(link: str | None, base: str) -> str | None:
    """link made absolute against the feed URL; None unless it ends up http(s)."""
    if not link or not link.strip():
        return None
    joined = urljoin(base, link.strip())
    return joined if urlsplit(joined).scheme in ("http", "https") else None


def _summary_html(raw: Mapping[str, Any]) -> str | None:
    summary = raw.get("summary")
    if summary:
        return str(summary)
    content = raw.get("content") or []
    return str(content[0].get("value") or "") if content else None


def _entry_date(raw: Mapping[str, Any]) -> datetime | None:
    for key in _DATE_KEYS:
        parsed = raw.get(key)
        if parsed:
            try:
                # feedparser's struct_time is already UTC.
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut or text[:limit]) + "…"


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
