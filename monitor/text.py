"""The one text normalisation used for scoring AND training, so both see the same input."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
# Links carry no sentiment but cost many tokens (a t.co link is ~12): they are dropped.
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_BLOCK_TAGS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}


class _TextExtractor(HTMLParser):
    """Collects text nodes; drops script/style bodies; breaks lines at block tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: str | None) -> str:
    """Strip tags and entities from feed HTML and collapse whitespace to single spaces."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return _WS.sub(" ", value).strip()
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return _WS.sub(" ", html.unescape("".join(parser.parts))).strip()


def _clean(value: str | None) -> str:
    # Entities are decoded here too: feed text arrives decoded (html_to_text), but labelled
    # files often keep an exporter's "&amp;", and training should read what scoring reads.
    value = html.unescape(value) if value and "&" in value else (value or "")
    return _WS.sub(" ", _URL.sub(" ", value)).strip()


def model_input(title: str | None, summary: str | None = None, *, max_chars: int = 1000) -> str:
    """Text the classifier reads for an article: the headline, then the summary if it adds words.

    Training files hold single sentences or headlines, so a headline-only article and a
    training row look alike; the summary is appended after a separator when it is not a copy
    of the title (many feeds repeat the title as the description).
    """
    t = _clean(title)
    s = _clean(summary)
    if s and s.lower() != t.lower() and not t.lower().startswith(s.lower()):
        text = f"{t}. {s}" if t and not t.endswith((".", "!", "?", ":")) else f"{t} {s}".strip()
    else:
        text = t or s
    return text[:max_chars]
