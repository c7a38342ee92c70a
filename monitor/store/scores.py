"""SQL for scores: saving predictions (history + current article columns) and what is unscored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, insert, not_, select, update

from monitor.store import rollups
from monitor.store.schema import articles, scores
from monitor.types import Article, Prediction, Task

_CURRENT_COLUMNS = {
    Task.SENTIMENT.value: ("sentiment", "sentiment_confidence", "sentiment_version"),
    Task.TOPIC.value: ("topic", "topic_confidence", "topic_version"),
}


def save_predictions(conn: Connection, predictions: Sequence[Prediction], now: datetime) -> int:
    """Store predictions: one scores row each (history) and the article's current columns.

    A prediction already stored for (article, task, version) is skipped, so re-running a
    score job after a crash is harmless. Returns the number of new score rows.
    """
    if not predictions:
        return 0
    ids = list({p.article_id for p in predictions})
    existing: set[tuple[int, str, str]] = set()
    for i in range(0, len(ids), 500):
        existing.update(tuple(r) for r in conn.execute(
            select(scores.c.article_id, scores.c.task, scores.c.model_version)
            .where(scores.c.article_id.in_(ids[i:i + 500]))))
    fresh = []
    for p in predictions:  # skip stored ones and repeats within this call
        key = (p.article_id, p.task, p.model_version)
        if key not in existing:
            existing.add(key)
            fresh.append(p)
    if not fresh:
        return 0
    conn.execute(insert(scores), [_score_row(p, now) for p in fresh])
    _update_current(conn, fresh)
    return len(fresh)


def _update_current(conn: Connection, predictions: Sequence[Prediction]) -> None:
    """Point the articles' current-score columns at these predictions.

    The hourly sentiment rollups move with them, in this same transaction: the articles'
    contributions are read before and after and the difference is booked.
    """
    if not predictions:
        return
    ids = [p.article_id for p in predictions]
    before = rollups.snapshot(conn, ids)
    for task, cols in _CURRENT_COLUMNS.items():
        rows = [_current_row(p, cols) for p in predictions if p.task == task]
        if rows:
            values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in cols}
            if task == Task.SENTIMENT.value:
                values.update({c: bindparam(f"v_{c}")
                               for c in ("p_negative", "p_neutral", "p_positive")})
            stmt = update(articles).where(articles.c.id == bindparam("b_id")).values(**values)
            conn.execute(stmt, rows)
    rollups.apply_change(conn, before, rollups.snapshot(conn, ids))


def _score_row(p: Prediction, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"article_id": p.article_id, "task": p.task,
                           "model_version": p.model_version, "label": p.label,
                           "confidence": p.confidence, "probs": dict(p.probs), "scored_at": now,
                           # Every row has the same keys: executemany needs one shape.
                           "p_negative": None, "p_neutral": None, "p_positive": None}
    if p.task == Task.SENTIMENT.value:
        row.update(p_negative=p.probs.get("negative"), p_neutral=p.probs.get("neutral"),
                   p_positive=p.probs.get("positive"))
    return row


def _current_row(p: Prediction, cols: tuple[str, str, str]) -> dict[str, Any]:
    label_col, conf_col, version_col = cols
    row: dict[str, Any] = {"b_id": p.article_id, f"v_{label_col}": p.label,
                           f"v_{conf_col}": p.confidence, f"v_{version_col}": p.model_version}
    if p.task == Task.SENTIMENT.value:
        row.update({f"v_p_{k}": p.probs.get(k) for k in ("negative", "neutral", "positive")})
    return row


def articles_to_score(conn: Connection, task: str, version: str, *, limit: int,
                      published_since: datetime | None = None) -> list[Article]:
    """Articles with no score from `version` for `task`.

    With published_since, only articles published at or after it (the re-score window after
    a new version is activated); without it, only articles never scored for the task at all.
    """
    from monitor.store.articles import _article  # one row->Article mapping for the store

    scored_by_version = exists().where(and_(scores.c.article_id == articles.c.id,
                                            scores.c.task == task,
                                            scores.c.model_version == version))
    version_col = articles.c[_CURRENT_COLUMNS[task][2]]
    q = select(articles).where(not_(scored_by_version))
    if published_since is None:
        q = q.where(version_col.is_(None))
    else:
        q = q.where(articles.c.published_at >= published_since)
    q = q.order_by(articles.c.published_at.desc()).limit(limit)
    return [_article(r) for r in conn.execute(q)]


def score_history(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    q = select(scores).where(scores.c.article_id == article_id).order_by(scores.c.id)
    return [dict(r._mapping) for r in conn.execute(q)]


def restore_current_scores(conn: Connection, task: str, version: str, *,
                           published_since: datetime, limit: int = 1000) -> int:
    """Point current columns back at `version`'s stored scores for articles in the window.

    After a rollback (or re-activating an older version) the articles already scored by it
    keep their history rows, so articles_to_score skips them; this moves their current
    columns back without re-running the model. Returns how many articles were updated.
    """
    version_col = articles.c[_CURRENT_COLUMNS[task][2]]
    q = (select(scores.c.article_id, scores.c.label, scores.c.probs)
         .join(articles, articles.c.id == scores.c.article_id)
         .where(scores.c.task == task, scores.c.model_version == version,
                articles.c.published_at >= published_since,
                (version_col != version) | version_col.is_(None))
         .limit(limit))
    preds = [Prediction(article_id=r.article_id, task=task, model_version=version,
                        label=r.label, probs=dict(r.probs or {})) for r in conn.execute(q)]
    _update_current(conn, preds)
    return len(preds)
