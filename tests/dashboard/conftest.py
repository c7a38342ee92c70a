"""A seeded real SQLite database for the dashboard tests, and AppTest helpers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from streamlit.testing.v1 import AppTest

from monitor.store import models
from monitor.store.articles import insert_entries
from monitor.store.engine import open_store
from monitor.store.feeds import add_feed, record_error, record_success
from monitor.store.schema import alerts
from monitor.store.scores import save_predictions
from monitor.types import Entry, FeedSpec, Prediction

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "dashboard" / "app_pages"
HOSTILE_TITLES = (
    "<script>alert('xss')</script> Bank collapses",
    "[click me](javascript:alert(1)) markets fall",
    "**bold claim** __under__ `code`",
    "$$\\frac{1}{0}$$ and :red[colour] :material/warning:",
)
TOPICS = ("Earnings", "Macro", "Markets")
FEEDS = ("Wire One", "Wire Two", "Wire Three")


@dataclass(frozen=True)
class Seeded:
    """What the seed wrote, for assertions."""

    config_path: Path
    url: str
    engine: Engine
    now: datetime
    firing_alert_id: int
    resolved_alert_id: int
    n_articles: int


def _entry(i: int, title: str, at: datetime) -> Entry:
    return Entry(guid=f"g{i}", link=f"https://news.example.com/a/{i}", title=title,
                 summary=f"summary {i}", published_at=at,
                 content_hash=hashlib.sha256(f"{i}{title}".encode()).hexdigest())


def _probs(i: int) -> tuple[str, dict[str, float]]:
    label = ("negative", "neutral", "positive")[i % 3]
    high = 0.55 + (i % 5) * 0.1  # confidences 0.55 .. 0.95
    rest = (1 - high) / 2
    return label, {k: (high if k == label else rest) for k in ("negative", "neutral", "positive")}


def _model_folder(base: Path, task: str, version: str, labels: list[str]) -> Path:
    """A version folder that passes verify_version (no torch needed: weights are not loaded)."""
    folder = base / task / version
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"not really weights " + version.encode())
    (folder / "config.json").write_text(json.dumps({"id2label": dict(enumerate(labels))}))
    files = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest()
             for n in ("model.safetensors", "config.json")}
    (folder / "card.json").write_text(json.dumps({
        "task": task, "version": version, "labels": labels, "files": files,
        "weights": ["model.safetensors"]}))
    return folder


def _write_config(tmp_path: Path, url: str, read_only: bool, password_env: str) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[database]\nurl = "{url}"\n[model]\nregistry_dir = "{tmp_path / "models"}"\n'
        f'[fetch]\nallow_private_addresses = true\n'
        f'[dashboard]\nread_only = {str(read_only).lower()}\npassword_env = "{password_env}"\n'
        f'refresh_seconds = 300\n', encoding="utf-8")
    return cfg


def _seed_feeds(conn: Connection, now: datetime, n_per_feed: int) -> int:
    """FEEDS with n_per_feed articles each (the first feed's first titles hostile; the third
    feed failing); returns how many articles there are (ids 1 .. n)."""
    i = 0
    for f, name in enumerate(FEEDS):
        fid = add_feed(conn, FeedSpec(name, f"https://feeds.example.com/{f}.xml"), now)
        if f == 2:
            record_error(conn, fid, now=now, next_check_at=now + timedelta(minutes=5),
                         error="connection refused", status=None)
        else:
            record_success(conn, fid, now=now, next_check_at=now + timedelta(minutes=15),
                           status=200, etag=None, last_modified=None)
        entries = []
        for k in range(n_per_feed):
            title = HOSTILE_TITLES[k] if f == 0 and k < len(HOSTILE_TITLES) \
                else f"{name} headline {k} about {TOPICS[k % 3]}"
            entries.append(_entry(i, title, now - timedelta(hours=k * 3 + f)))
            i += 1
        insert_entries(conn, fid, entries, now)
    return i


def _seed_scores(conn: Connection, n_articles: int, now: datetime) -> None:
    """A sentiment and a topic prediction for every article."""
    preds = []
    for aid in range(1, n_articles + 1):
        label, probs = _probs(aid)
        preds.append(Prediction(aid, "sentiment", "sentiment-v1", label, probs))
        topic = TOPICS[aid % 3]
        preds.append(Prediction(aid, "topic", "topic-v1", topic,
                                {topic: 0.5 + (aid % 4) * 0.1}))
    save_predictions(conn, preds, now)


def _seed_firing_alert(conn: Connection, now: datetime) -> int:
    """A firing Earnings alert whose evidence holds a hostile headline and link."""
    return conn.execute(insert(alerts).values(
        rule="negative_burst", scope_kind="topic", scope_value="Earnings", state="firing",
        started_at=now - timedelta(hours=1), fired_at=now - timedelta(minutes=50),
        last_evaluated_at=now, statistic=6.0, window_count=30, window_negative=18.5,
        expected=4.2, summary="Negative news about Earnings: 18.5 vs 4.2 expected",
        evidence={"p_value": 1e-6, "window_minutes": 60, "preset": "medium",
                  "thresholds": {"max_p_value": 1e-4, "min_count": 4, "min_ratio": 2},
                  "baseline": {"hours": 168, "articles": 900, "negative": 120},
                  "headlines": [
                      {"article_id": 1, "title": HOSTILE_TITLES[0],
                       "link": "javascript:alert(1)", "feed": "Wire One",
                       "topic": "Earnings", "p_negative": 0.97,
                       "published_at": now.isoformat()},
                      {"article_id": 7, "title": "Profit warning at Example Corp",
                       "feed": "Wire Two", "topic": "Earnings", "p_negative": 0.9,
                       "link": "https://news.example.com/a/7",
                       "published_at": now.isoformat()}]})).inserted_primary_key[0]


def _seed_resolved_alert(conn: Connection, now: datetime) -> int:
    return conn.execute(insert(alerts).values(
        rule="negative_burst", scope_kind="feed", scope_value="Wire Two", state="resolved",
        started_at=now - timedelta(days=2), fired_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=1), last_evaluated_at=now, statistic=5.0,
        window_count=12, window_negative=9.0, expected=2.0,
        summary="Negative news from Wire Two", evidence={"ratio": 4.5})
    ).inserted_primary_key[0]


def _seed_models(conn: Connection, registry_dir: Path, now: datetime) -> None:
    """Versions v0 and v1 of each task in the registry, v1 active."""
    for task, labels in (("sentiment", ["negative", "neutral", "positive"]),
                         ("topic", list(TOPICS))):
        for n, v in enumerate((f"{task}-v0", f"{task}-v1")):
            path = _model_folder(registry_dir, task, v, labels)
            # v1 carries a kept lexical blend, as trained versions usually do.
            card = {"lexical": {"kept": True, "weight": 0.45},
                    "metrics_encoder": {"accuracy": 0.78, "macro_f1": 0.75}} if n else {}
            models.insert_version(conn, version=v, task=task, path=str(path),
                                  base_model="tiny", card=card,
                                  metrics={"macro_f1": 0.7 + n / 10, "accuracy": 0.8},
                                  created_at=now - timedelta(days=3 - n))
        models.insert_activation(conn, task=task, version=f"{task}-v1",
                                 activated_at=now - timedelta(days=1), reason="seed")


def seed(tmp_path: Path, *, n_per_feed: int = 40, read_only: bool = False,
         password_env: str = "", with_models: bool = True) -> Seeded:
    """A dashboard database in tmp_path: feeds, scored articles, a firing and a resolved
    alert, and (with_models) two versions per task; plus a config.toml pointing at it."""
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    cfg = _write_config(tmp_path, url, read_only, password_env)
    engine = open_store(url)
    with engine.begin() as conn:
        n_articles = _seed_feeds(conn, now, n_per_feed)
        _seed_scores(conn, n_articles, now)
        firing = _seed_firing_alert(conn, now)
        resolved = _seed_resolved_alert(conn, now)
        if with_models:
            _seed_models(conn, tmp_path / "models", now)
    return Seeded(cfg, url, engine, now, int(firing), int(resolved), n_articles)


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    s = seed(tmp_path)
    monkeypatch.setenv("FINSENTINEL_CONFIG", str(s.config_path))
    yield s
    s.engine.dispose()


@pytest.fixture
def run_page() -> Callable[..., AppTest]:
    def _run(page: str, *, timeout: float = 30) -> AppTest:
        at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=timeout)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return _run


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local wire</title><link>http://127.0.0.1/</link>
<item><guid>l1</guid><title>Local rate cut</title><link>https://news.example.com/l1</link>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>Rates fall.</description></item>
<item><guid>l2</guid><title>&lt;b&gt;Bold&lt;/b&gt; [x](javascript:1)</title>
<link>https://news.example.com/l2</link><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>
<description>Hostile title.</description></item>
</channel></rss>"""


@pytest.fixture
def feed_server() -> str:
    """A real HTTP server on 127.0.0.1 serving one RSS document; yields its URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()
