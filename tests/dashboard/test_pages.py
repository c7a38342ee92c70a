"""Every dashboard page through Streamlit's AppTest on a seeded real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, update

from monitor.scoring import registry
from monitor.store.schema import alerts, feeds, labels, silences
from tests.dashboard.conftest import HOSTILE_TITLES, seed


def _texts(at) -> str:  # type: ignore[no-untyped-def]
    """Every Markdown-ish string the page rendered (where injected markup would show up)."""
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption]
    parts += [m.value for m in at.info] + [m.value for m in at.warning]
    parts += [m.value for m in at.success] + [m.value for m in at.error]
    parts += [m.value for m in at.subheader] + [m.value for m in at.title]
    return "\n".join(str(p) for p in parts)


def _no_raw_hostile_markdown(at) -> None:  # type: ignore[no-untyped-def]
    rendered = _texts(at)
    assert "<script>" not in rendered
    assert "](javascript:" not in rendered


# ---------------------------------------------------------------- overview
def test_overview_shows_trends_alerts_and_key_figures(seeded, run_page):
    at = run_page("overview")
    assert at.title[0].value == "Overview"
    assert len(at.get("vega_lite_chart")) == 2  # sentiment index + negative volume
    firing = at.dataframe[0].value
    assert list(firing["scope_value"]) == ["Earnings"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Articles in range"] == f"{seeded.n_articles:,}"
    assert metrics["Alerts firing"] == "1"
    assert metrics["Negative share"].endswith("%")
    _no_raw_hostile_markdown(at)


def test_overview_split_by_topic_and_source_changes_the_chart(seeded, run_page):
    at = run_page("overview")
    overall = at.get("vega_lite_chart")[0].proto.spec
    at.radio(key="ov_split").set_value("By topic").run()
    assert not at.exception
    assert sorted(at.multiselect(key="ov_topic").value) == ["Earnings", "Macro", "Markets"]
    by_topic = at.get("vega_lite_chart")[0].proto.spec
    assert by_topic != overall
    at.multiselect(key="ov_topic").set_value(["Macro"]).run()
    assert "Macro" in at.subheader[-1].value and "Earnings" not in at.subheader[-1].value
    at.radio(key="ov_split").set_value("By source").run()
    assert "Wire One" in at.multiselect(key="ov_feed").options


def test_overview_on_an_empty_database_says_what_to_do(tmp_path, monkeypatch, run_page):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n')
    monkeypatch.setenv("FINSENTINEL_CONFIG", str(cfg))
    at = run_page("overview")
    assert "finsentinel poll" in at.info[0].value and "make demo" in at.info[0].value


def test_overview_when_every_feed_fails_suggests_the_demo(seeded, run_page):
    with seeded.engine.begin() as conn:
        conn.execute(update(feeds).values(error_count=3, last_error="network unreachable"))
    at = run_page("overview")
    assert any("offline" in w.value and "make demo" in w.value for w in at.warning)


def test_overview_without_active_model_or_scores_says_bootstrap(tmp_path, monkeypatch,
                                                                run_page):
    s = seed(tmp_path, with_models=False)
    with s.engine.begin() as conn:
        from monitor.store.schema import articles
        conn.execute(update(articles).values(sentiment=None, sentiment_version=None))
    monkeypatch.setenv("FINSENTINEL_CONFIG", str(s.config_path))
    at = run_page("overview")
    assert any("finsentinel bootstrap" in w.value for w in at.warning)
    s.engine.dispose()


# ---------------------------------------------------------------- articles
def test_articles_newest_first_with_probabilities_versions_and_safe_links(seeded, run_page):
    at = run_page("articles")
    df = at.dataframe[0].value
    assert len(df) == 50
    assert list(df["published_at"]) == sorted(df["published_at"], reverse=True)
    assert {"p_negative", "p_neutral", "p_positive", "sentiment_version",
            "topic_version", "link"} <= set(df.columns)
    assert set(df["sentiment_version"]) == {"sentiment-v1"}
    assert df["link"].str.startswith("https://").all()
    assert set(HOSTILE_TITLES) <= set(df["title"])  # shown as cell text, verbatim
    _no_raw_hostile_markdown(at)


@pytest.mark.parametrize(("widget", "value", "check"), [
    ("ar_sentiments", ["negative"], lambda df: set(df["sentiment"]) == {"negative"}),
    ("ar_topics", ["Macro"], lambda df: set(df["topic"]) == {"Macro"}),
    ("ar_sources", ["Wire Two"], lambda df: set(df["feed"]) == {"Wire Two"}),
    ("ar_min_conf", 0.9, lambda df: (df["sentiment_confidence"] >= 0.9).all()),
    ("ar_text", "headline 7 ", lambda df: df["title"].str.contains("headline 7 ").all()),
])
def test_articles_filters_change_what_is_shown(seeded, run_page, widget, value, check):
    at = run_page("articles")
    before = at.dataframe[0].value
    w = at.multiselect(key=widget) if widget in ("ar_sentiments", "ar_topics", "ar_sources") \
        else at.slider(key=widget) if widget == "ar_min_conf" else at.text_input(key=widget)
    w.set_value(value).run()
    assert not at.exception
    after = at.dataframe[0].value
    assert 0 < len(after) < len(before) or not after.equals(before)
    assert check(after)


def test_articles_paging_walks_older_and_back(seeded, run_page):
    at = run_page("articles")
    at.selectbox(key="ar_range").set_value("All time").run()
    first = at.dataframe[0].value
    at.button(key="ar_older").click().run()
    second = at.dataframe[0].value
    assert len(first) + len(second) <= seeded.n_articles
    assert set(first["title"]).isdisjoint(second["title"])
    assert second["published_at"].max() <= first["published_at"].min()
    at.button(key="ar_older").click().run()
    third = at.dataframe[0].value
    assert len(first) + len(second) + len(third) == seeded.n_articles
    assert at.button(key="ar_older").disabled
    at.button(key="ar_newer").click().run()
    at.button(key="ar_newer").click().run()
    assert at.dataframe[0].value.equals(first)


def test_articles_no_match_explains(seeded, run_page):
    at = run_page("articles")
    at.text_input(key="ar_text").set_value("no such words anywhere").run()
    assert "No article matches" in at.info[0].value


# ---------------------------------------------------------------- alerts
def test_alerts_show_evidence_with_only_http_links(seeded, run_page):
    at = run_page("alerts")
    assert "Earnings" in at.markdown[0].value
    headlines = at.dataframe[0].value
    assert list(headlines.columns) == ["article_id", "title", "link", "feed", "topic",
                                       "p_negative", "published_at"]
    assert HOSTILE_TITLES[0] in list(headlines["title"])
    assert at.json and "thresholds" in at.json[0].value
    bad = headlines[headlines["title"] == HOSTILE_TITLES[0]]["link"].iloc[0]
    assert pd.isna(bad)  # the javascript: link is dropped, not rendered
    assert headlines["link"].dropna().str.startswith("https://").all()
    at.radio(key="alerts_show").set_value("Resolved").run()
    assert "Wire Two" in at.markdown[0].value


def test_acknowledge_writes_through(seeded, run_page):
    at = run_page("alerts")
    at.button(key=f"ack_{seeded.firing_alert_id}").click().run()
    assert not at.exception
    with seeded.engine.connect() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == seeded.firing_alert_id)).one()
    assert row.acknowledged_at is not None and row.acknowledged_by == "dashboard"
    assert at.button(key=f"ack_{seeded.firing_alert_id}").disabled


def test_silence_writes_through(seeded, run_page):
    aid = seeded.firing_alert_id
    at = run_page("alerts")
    at.number_input(key=f"sil_h_{aid}").set_value(2.0)
    at.text_input(key=f"sil_r_{aid}").set_value("earnings season")
    at.button(key=f"sil_{aid}").click().run()
    assert not at.exception
    with seeded.engine.connect() as conn:
        rows = conn.execute(select(silences)).all()
    assert [(r.scope_kind, r.scope_value, r.reason) for r in rows] == [
        ("topic", "Earnings", "earnings season")]
    left = rows[0].until - datetime.now(UTC)
    assert timedelta(hours=1.9) < left <= timedelta(hours=2)
    assert list(at.dataframe[-1].value["scope_value"]) == ["Earnings"]


# ---------------------------------------------------------------- feeds
def test_feeds_health_and_disable_enable(seeded, run_page):
    at = run_page("feeds")
    health = at.dataframe[0].value
    assert list(health["name"]) == sorted(["Wire One", "Wire Two", "Wire Three"])
    assert health.set_index("name").loc["Wire Three", "error_count"] == 1
    assert health.set_index("name").loc["Wire One", "articles_per_day"] > 0
    assert {m.label: m.value for m in at.metric}["Failing"] == "1"
    at.selectbox(key="feed_toggle_name").set_value("Wire Two")
    at.button(key="feed_toggle").click().run()
    with seeded.engine.connect() as conn:
        assert conn.execute(select(feeds.c.enabled).where(feeds.c.name == "Wire Two")
                            ).scalar_one() is False
    assert at.button(key="feed_toggle").label == "Enable feed"
    at.button(key="feed_toggle").click().run()
    with seeded.engine.connect() as conn:
        assert conn.execute(select(feeds.c.enabled).where(feeds.c.name == "Wire Two")
                            ).scalar_one() is True


def test_add_feed_after_preview(seeded, run_page, feed_server):
    at = run_page("feeds")
    assert at.button(key="add_feed_submit").disabled
    at.text_input(key="add_feed_name").set_value("Local wire")
    at.text_input(key="add_feed_url").set_value(feed_server).run()
    at.button(key="add_feed_preview").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    preview = at.dataframe[-1].value
    assert list(preview["title"]) == ["Local rate cut", "Bold [x](javascript:1)"]
    at.button(key="add_feed_submit").click().run()
    with seeded.engine.connect() as conn:
        row = conn.execute(select(feeds).where(feeds.c.name == "Local wire")).one()
    assert row.url == feed_server and row.from_config is False


def test_add_feed_refuses_non_http_urls(seeded, run_page):
    at = run_page("feeds")
    at.text_input(key="add_feed_url").set_value("file:///etc/passwd").run()
    assert "http:// or https://" in at.error[0].value
    assert not [b for b in at.button if b.key in ("add_feed_preview", "add_feed_submit")]


def test_preview_of_a_dead_url_says_why(seeded, run_page):
    at = run_page("feeds")
    at.text_input(key="add_feed_url").set_value("http://127.0.0.1:9/nothing.xml").run()
    at.button(key="add_feed_preview").click().run()
    assert at.error and "Preview failed" in at.error[0].value


# ---------------------------------------------------------------- labelling
def test_labelling_saves_a_label_for_training(seeded, run_page):
    at = run_page("labelling")
    first = at.text[0].value
    choice = [r for r in at.radio if r.key and r.key.startswith("lab_choice_sentiment_")][0]
    article_id = int(choice.key.rsplit("_", 1)[1])
    choice.set_value("negative").run()
    at.button(key="lab_save").click().run()
    assert not at.exception
    with seeded.engine.connect() as conn:
        rows = conn.execute(select(labels)).all()
    assert [(r.article_id, r.task, r.label, r.source) for r in rows] == [
        (article_id, "sentiment", "negative", "dashboard")]
    assert first in rows[0].text
    assert at.text[0].value != first  # the next article is up
    assert {m.label: m.value for m in at.metric}["Sentiment labels"] == "1"


# ---------------------------------------------------------------- models
def test_models_activate_and_rollback(seeded, run_page):
    at = run_page("models")
    assert "Active version: sentiment-v1" in [t.value for t in at.text]
    versions = at.dataframe[0].value
    assert set(versions["version"]) == {"sentiment-v0", "sentiment-v1"}
    assert "macro_f1" in versions.columns
    by_version = versions.set_index("version")
    # The blend's weight and the encoder's own figures sit beside the (blended) metrics.
    assert by_version.loc["sentiment-v1", "lexical_weight"] == 0.45
    assert by_version.loc["sentiment-v1", "encoder_macro_f1"] == 0.75
    assert pd.isna(by_version.loc["sentiment-v0", "lexical_weight"])
    at.selectbox(key="models_pick_sentiment").set_value("sentiment-v0").run()
    at.button(key="models_activate_sentiment").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert registry.active_version(seeded.engine, "sentiment") == "sentiment-v0"
    assert "Active version: sentiment-v0" in [t.value for t in at.text]
    at.button(key="models_rollback_sentiment").click().run()
    assert registry.active_version(seeded.engine, "sentiment") == "sentiment-v1"


# ---------------------------------------------------------------- read-only, login
WRITE_KEYS = ("ack_", "sil_", "feed_toggle", "add_feed_", "lab_save", "models_activate_",
              "models_rollback_")


@pytest.mark.parametrize("page", ["overview", "articles", "alerts", "feeds", "labelling",
                                  "models"])
def test_read_only_hides_every_write(tmp_path, monkeypatch, run_page, page):
    s = seed(tmp_path, read_only=True)
    monkeypatch.setenv("FINSENTINEL_CONFIG", str(s.config_path))
    at = run_page(page)
    keys = [b.key or "" for b in at.button] + [t.key or "" for t in at.text_input]
    assert not [k for k in keys if k.startswith(WRITE_KEYS)], keys
    assert any("Read-only" in c.value for c in at.caption)
    s.engine.dispose()
