"""load_config(path) -> Config: the only reader of config.toml and of FINSENTINEL_* env vars."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator

from monitor.config_sections import (
    AlertsConfig,
    DashboardConfig,
    DatabaseConfig,
    FeedConfig,
    FetchConfig,
    ModelConfig,
    SchedulerConfig,
    Section,
)
from monitor.errors import ConfigError

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "FINSENTINEL_CONFIG"
DATABASE_URL_ENV = "FINSENTINEL_DATABASE_URL"


class Config(Section):
    """The whole validated configuration: one field per section, and the file's directory."""

    database: DatabaseConfig = DatabaseConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    fetch: FetchConfig = FetchConfig()
    feeds: tuple[FeedConfig, ...] = ()
    model: ModelConfig = ModelConfig()
    alerts: AlertsConfig = AlertsConfig()
    dashboard: DashboardConfig = DashboardConfig()
    # Directory of the config file: relative paths in the file resolve against it.
    base_dir: Path = Path(".")

    @field_validator("feeds")
    @classmethod
    def _unique_feed_names(cls, feeds: tuple[FeedConfig, ...]) -> tuple[FeedConfig, ...]:
        seen: set[str] = set()
        for f in feeds:
            if f.name in seen:
                raise ValueError(f"duplicate feed name {f.name!r}; feed names must be unique")
            seen.add(f.name)
        return feeds

    def resolve_path(self, value: str | Path) -> Path:
        """A path from the config, made absolute against the config file's directory."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def database_url(self) -> str:
        """The DB URL with a relative SQLite path resolved against the config's directory."""
        return resolve_sqlite_url(self.database.url, self.base_dir)

    @property
    def registry_path(self) -> Path:
        return self.resolve_path(self.model.registry_dir)


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix):]
        if rest and rest != ":memory:" and not Path(rest).is_absolute():
            return prefix + str((base_dir / rest).resolve())
    return url


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key; remove it or check its spelling")
        else:
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"{key}: {e['msg']}{shown}")
    return f"invalid configuration in {source}: " + "; ".join(lines)


def config_from_dict(data: dict[str, Any], *, base_dir: Path = Path("."),
                     source: str = "<dict>", env: dict[str, str] | None = None) -> Config:
    """Validate a parsed TOML table into a Config, applying environment overrides."""
    env = dict(os.environ) if env is None else env
    data = dict(data)
    if "base_dir" in data:
        raise ConfigError(f"invalid configuration in {source}: base_dir: unknown key")
    if env.get(DATABASE_URL_ENV):
        data["database"] = {**data.get("database", {}), "url": env[DATABASE_URL_ENV]}
    fetch = data.get("fetch")
    if isinstance(fetch, dict) and isinstance(fetch.get("ca_bundle"), str) and fetch["ca_bundle"]:
        # The fetcher sees only its section, so its one path is made absolute here.
        bundle = Path(fetch["ca_bundle"]).expanduser()
        data["fetch"] = {**fetch, "ca_bundle": str(bundle if bundle.is_absolute()
                                                   else (base_dir / bundle).resolve())}
    try:
        return Config(**data, base_dir=base_dir.resolve())
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def load_config(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> Config:
    """Read and validate the TOML config; path defaults to $FINSENTINEL_CONFIG or ./config.toml."""
    env = dict(os.environ) if env is None else env
    p = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH).expanduser()
    if not p.is_file():
        raise ConfigError(f"config file {p} not found; pass --config PATH or set {CONFIG_ENV}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {p} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p} is not UTF-8 text") from None
    return config_from_dict(data, base_dir=p.resolve().parent, source=str(p), env=env)


def active_env_overrides(env: dict[str, str] | None = None) -> tuple[str, ...]:
    """Names of the environment variables that currently override config-file values."""
    env = dict(os.environ) if env is None else env
    return tuple(name for name in (DATABASE_URL_ENV,) if env.get(name))


def secret_from_env(name: str, env: dict[str, str] | None = None) -> str | None:
    """The value of the environment variable the config names for a secret; None if unset."""
    if not name:
        return None
    env = dict(os.environ) if env is None else env
    return env.get(name) or None


def redacted_dump(config: Config) -> dict[str, Any]:
    """The effective configuration as a plain dict, passwords in URLs replaced by ***."""
    data = config.model_dump(mode="json")
    data["database"]["url"] = _redact_url(config.database_url)
    for channel in data["alerts"]["channels"]:
        if channel.get("url"):
            channel["url"] = channel["url"].split("://", 1)[0] + "://***"  # may carry tokens
    data.pop("base_dir", None)
    return data


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: hide everything after the scheme
        return url.split("://", 1)[0] + "://***"
