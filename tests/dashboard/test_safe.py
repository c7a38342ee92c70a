"""Untrusted feed text: Markdown escaping and link validation."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt

from dashboard.safe import escape_markdown, safe_url

HOSTILE = [
    "<script>alert('x')</script>",
    "[x](javascript:alert(1))",
    "**bold** and __under__ and *it*",
    "$$\\int_0^1 x\\,dx$$ and $x$",
    ":red[colour] :material/warning: :smile:",
    "# heading\n- list\n> quote",
    "<img src=x onerror=alert(1)>",
    "`code` ```fence```",
    "back\\slash \\* already escaped",
    "![img](https://evil.example/x.png)",
    "<https://autolink.example>",
    "a | table | row",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_the_same_characters_and_no_markup(text):
    rendered = MarkdownIt("commonmark").render(escape_markdown(text))
    flat = " ".join(text.split())
    assert rendered == f"<p>{html.escape(flat, quote=False)}</p>\n"


def test_escape_keeps_no_directive_or_maths_delimiter_unescaped():
    out = escape_markdown("$$x$$ :red[y]")
    assert "$$" not in out.replace("\\$", "")
    assert ":red[" not in out


@pytest.mark.parametrize("url", ["https://news.example.com/a?b=1#c", "http://127.0.0.1:8080/x"])
def test_safe_url_keeps_http_links(url):
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
    "vbscript:x", "file:///etc/passwd", "//evil.example/x", "/relative/path", "",
    None, "https://", "https://exa mple.com", "https://example.com/\nx",
    "https://example.com\\@evil.example", "ftp://example.com/x", "https://" + "a" * 3000,
])
def test_safe_url_refuses_everything_else(url):
    assert safe_url(url) is None
