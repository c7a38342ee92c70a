"""Neutralising untrusted feed text for Markdown and validating links before they are shown."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them turns links, emphasis, HTML tags, $$ maths and Streamlit's :color[...] and :emoji:
# directives into literal text.
_PUNCT = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_URL = 2048


def escape_markdown(text: str | None) -> str:
    """text as Markdown that renders as the same characters and nothing else (one line)."""
    if not text:
        return ""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return _PUNCT.sub(r"\\\1", flat)


def safe_url(url: str | None) -> str | None:
    """url when it is an absolute http(s) URL without spaces or control characters, else None."""
    if not url or len(url) > _MAX_URL:
        return None
    url = url.strip()
    if _CONTROL.search(url) or " " in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
