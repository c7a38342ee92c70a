"""Full-text search over article titles and summaries (SQLite FTS5, PostgreSQL GIN).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:55:00

SQLite: an external-content FTS5 table (the text lives once, in articles) kept in step by
triggers; the rebuild indexes rows that existed before this migration. PostgreSQL: a GIN
expression index that monitor.store.search's match expression uses verbatim.
Neither object is in schema.py (SQLAlchemy cannot express them); the autogenerate comparison
skips them through monitor.store.engine.include_name.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, summary, content='articles', content_rowid='id')",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); END",
    # Only text changes touch the index; re-scoring an article updates other columns.
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, summary ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); "
    "END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TABLE IF EXISTS articles_fts",
)
# Must stay identical to monitor.store.search's PostgreSQL expression, or the index is unused.
_PG_UP = ("CREATE INDEX ix_articles_fts ON articles "
          "USING gin (to_tsvector('simple', title || ' ' || summary))",)
_PG_DOWN = ("DROP INDEX IF EXISTS ix_articles_fts",)


def _run(sqlite: tuple[str, ...], postgresql: tuple[str, ...]) -> None:
    dialect = op.get_bind().dialect.name
    for stmt in sqlite if dialect == "sqlite" else postgresql if dialect == "postgresql" else ():
        op.execute(stmt)


def upgrade() -> None:
    _run(_SQLITE_UP, _PG_UP)


def downgrade() -> None:
    _run(_SQLITE_DOWN, _PG_DOWN)
