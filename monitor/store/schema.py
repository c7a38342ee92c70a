"""The one database schema (SQLAlchemy Core tables); migrations are generated from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are reproducible on SQLite and PostgreSQL.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: one time convention on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


feeds = Table(
    "feeds", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("poll_minutes", Float, nullable=False, default=15.0),
    Column("tags", JSON, nullable=False, default=list),
    Column("from_config", Boolean, nullable=False, default=False),
    # Conditional-GET and schedule state (miniflux's design: the schedule lives here).
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_check_at", UTCDateTime, index=True),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_status", Integer),
    Column("last_checked_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("disabled_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

articles = Table(
    "articles", metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("guid", Text, nullable=False),
    Column("link", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    # The CURRENT scores, denormalised onto the article so trends and filters read one
    # table; the scores table below keeps every version's history.
    Column("sentiment", String(16)),
    Column("sentiment_confidence", Float),
    Column("p_negative", Float),
    Column("p_neutral", Float),
    Column("p_positive", Float),
    Column("sentiment_version", String(100)),
    Column("topic", String(100)),
    Column("topic_confidence", Float),
    Column("topic_version", String(100)),
    UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_published_at", "published_at"),
    Index("ix_articles_feed_published", "feed_id", "published_at"),
    Index("ix_articles_topic_published", "topic", "published_at"),
    Index("ix_articles_sentiment_published", "sentiment", "published_at"),
)

# One row per (article, task, model version): a new model adds rows, history stays.
scores = Table(
    "scores", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("task", String(32), nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("label", String(100), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("probs", JSON, nullable=False),
    # Sentiment probabilities as columns so the sentiment index is computed in SQL.
    Column("p_negative", Float),
    Column("p_neutral", Float),
    Column("p_positive", Float),
    Column("scored_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "task", "model_version", name="uq_scores_article_task_version"),
    Index("ix_scores_task_version_article", "task", "model_version", "article_id"),
)

model_versions = Table(
    "model_versions", metadata,
    Column("version", String(100), primary_key=True),
    Column("task", String(32), nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("base_model", Text),
    Column("metrics", JSON, nullable=False, default=dict),
    Column("card", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
)

# Activation history per task: the newest row is the active version; rollback pops one.
model_activations = Table(
    "model_activations", metadata,
    Column("id", Integer, primary_key=True),
    Column("task", String(32), nullable=False),
    Column("version", String(100), ForeignKey("model_versions.version"), nullable=False),
    Column("activated_at", UTCDateTime, nullable=False),
    Column("reason", Text),
    Index("ix_model_activations_task_id", "task", "id"),
)

labels = Table(
    "labels", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("text", Text, nullable=False),
    Column("task", String(32), nullable=False),
    Column("label", String(100), nullable=False),
    Column("source", String(50), nullable=False, default="dashboard"),
    Column("created_by", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "task", name="uq_labels_article_task"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("scope_kind", String(32), nullable=False),
    Column("scope_value", String(200), nullable=False),
    Column("state", String(16), nullable=False),  # pending | firing | resolved
    Column("started_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("last_evaluated_at", UTCDateTime, nullable=False),
    Column("last_notified_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(100)),
    Column("statistic", Float, nullable=False),
    Column("window_count", Integer, nullable=False),
    Column("window_negative", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("evidence", JSON, nullable=False, default=dict),
    Index("ix_alerts_state", "state"),
    Index("ix_alerts_rule_scope", "rule", "scope_kind", "scope_value"),
    # One open (pending/firing) alert per rule and scope, enforced by the database too.
    Index("uq_alerts_open_rule_scope", "rule", "scope_kind", "scope_value", unique=True,
          sqlite_where=text("state IN ('pending', 'firing')"),
          postgresql_where=text("state IN ('pending', 'firing')")),
)

# Delivery state per alert, channel and event: written with the alert, before any send.
alert_deliveries = Table(
    "alert_deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("event", String(16), nullable=False),  # firing | resolved | test
    Column("state", String(16), nullable=False),  # pending | sent | failing
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("alert_id", "channel", "event",
                     name="uq_alert_deliveries_alert_channel_event"),
    Index("ix_alert_deliveries_state_next", "state", "next_attempt_at"),
)

silences = Table(
    "silences", metadata,
    Column("id", Integer, primary_key=True),
    Column("scope_kind", String(32), nullable=False),
    Column("scope_value", String(200), nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("reason", Text),
    Column("created_by", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
)

# The sentiment index pre-aggregated per scope and UTC hour of published_at (see
# monitor/store/stats.py for the definition and monitor/store/rollups.py for the upkeep):
# sums over the SCORED articles, kept in step with the articles' current columns by the
# same transactions that change them. scope_value is "all", the topic, or the feed id.
sentiment_rollups = Table(
    "sentiment_rollups", metadata,
    Column("scope_kind", String(32), primary_key=True),
    Column("scope_value", String(200), primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("articles", Integer, nullable=False, default=0),
    Column("negatives", Integer, nullable=False, default=0),
    Column("sum_index", Float, nullable=False, default=0.0),  # sum of p_positive - p_negative
    Column("negative_weight", Float, nullable=False, default=0.0),
    Column("negative_mass", Float, nullable=False, default=0.0),
)
