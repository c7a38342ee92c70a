"""model_input is the one normalisation shared by training and scoring."""

from __future__ import annotations

from monitor.text import html_to_text, model_input


def test_urls_are_dropped_and_whitespace_collapsed() -> None:
    text = "$BYND - JPMorgan reels in expectations on Beyond Meat https://t.co/bd0xbFGjkT"
    assert model_input(text) == "$BYND - JPMorgan reels in expectations on Beyond Meat"
    assert model_input("See www.example.com/x  now") == "See now"


def test_summary_appended_only_when_it_adds_words() -> None:
    assert model_input("Oil slumps", "Oil slumps") == "Oil slumps"
    assert model_input("Oil slumps", "Brent fell 6% after talks collapsed.") == (
        "Oil slumps. Brent fell 6% after talks collapsed.")
    assert model_input("Oil slumps:", "Brent fell") == "Oil slumps: Brent fell"
    assert model_input("", "Only a summary") == "Only a summary"


def test_long_text_is_cut() -> None:
    assert len(model_input("x" * 5000)) == 1000


def test_html_to_text_strips_tags_scripts_and_entities() -> None:
    html = "<p>Shares &amp; bonds</p><script>alert(1)</script><div>fell</div>"
    assert html_to_text(html) == "Shares & bonds fell"
    assert html_to_text(None) == ""


def test_entities_left_in_labelled_files_are_decoded_as_feed_text_is() -> None:
    raw = "Apple, Amazon, Tesla &amp; more: Q3 &gt; Q2 https://t.co/QPN8Gwl7Uh"
    assert model_input(raw) == "Apple, Amazon, Tesla & more: Q3 > Q2"
    assert model_input(raw) == model_input(html_to_text(raw))
