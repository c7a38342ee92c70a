"""Fetch a feed's bytes: timeouts, size cap, conditional GET, redirects (each hop through the
address policy of monitor.ingest.addresses)."""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.config_sections import FetchConfig
from monitor.errors import FetchError
from monitor.ingest.addresses import (
    AddressCheck,
    AddressPolicy,
    Resolver,
    is_public_address,
    resolve_host,
)
from monitor.ingest.transport import feed_transport, proxy_name, proxy_url
from monitor.types import FetchResult

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024


class Fetcher(Protocol):
    """Gets one feed document; raises FetchError with a readable message on failure."""

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult: ...

    def close(self) -> None: ...


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date; None if absent
    or unreadable (a garbled header falls back to our own backoff)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class HttpFetcher:
    """The httpx implementation of Fetcher; one instance is safe to share between threads."""

    def __init__(self, config: FetchConfig, *, resolver: Resolver = resolve_host,
                 is_public: AddressCheck = is_public_address,
                 transport: httpx.BaseTransport | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.config = config
        proxy = proxy_url(config, env)
        self._via = "" if proxy is None else f" via the proxy {proxy_name(proxy)}"
        self._policy = AddressPolicy(config.allow_private_addresses, resolver, is_public,
                                     via_proxy=proxy is not None, no_proxy=config.no_proxy)
        timeout = httpx.Timeout(connect=config.connect_timeout, read=config.read_timeout,
                                write=config.read_timeout, pool=config.connect_timeout)
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False,
            transport=(transport if transport is not None
                       else feed_transport(config, self._policy, limits, proxy)),
            headers={"User-Agent": config.user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, "
                               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
            # Settings come from the config only (house rule), not HTTP_PROXY/SSL_* env vars:
            # a proxy is [fetch] proxy, or proxy_env naming the variable to read.
            trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult:
        if urlsplit(url).scheme.lower() == "file":
            self._policy.check_url(url)
            return read_file_url(url, self.config.max_body_bytes, etag)
        deadline = time.monotonic() + self.config.total_timeout
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        visited = [url]
        permanent_to: str | None = None
        still_permanent = True
        current = url
        while True:
            self._policy.check_url(current)  # the clear error before any request is made
            status, headers, body = self._get(current, conditional, deadline)
            if status in REDIRECT_STATUSES and headers.get("location"):
                target = urljoin(current, headers["location"].strip())
                if target in visited:
                    chain = " -> ".join([*visited, target])
                    raise FetchError(f"redirect loop: {chain}", status=status)
                if len(visited) > self.config.max_redirects:
                    raise FetchError(f"more than {self.config.max_redirects} redirects "
                                     f"(fetch.max_redirects) starting at {url}", status=status)
                still_permanent = still_permanent and status in PERMANENT_REDIRECTS
                if still_permanent:
                    permanent_to = target
                visited.append(target)
                current = target
                continue
            return self._result(current, status, headers, body, etag, last_modified,
                                permanent_to)

    def _get(self, url: str, extra_headers: Mapping[str, str],
             deadline: float) -> tuple[int, dict[str, str], bytes]:
        """One GET without following redirects; the body is read only for a 2xx."""
        host = urlsplit(url).hostname or url
        via = self._via if self._policy.proxied(host) else ""
        try:
            with self._client.stream("GET", url, headers=dict(extra_headers)) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                body = b""
                if 200 <= resp.status_code < 300:
                    body = self._read_capped(resp, url, deadline)
                return resp.status_code, headers, body
        except httpx.ProxyError as err:  # the proxy refused the tunnel (e.g. 407, 403)
            raise FetchError(f"the proxy refused {url}{via}: {_reason(err)}") from None
        except httpx.ConnectTimeout:
            raise FetchError(f"connecting to {host}{via} timed out after "
                             f"{self.config.connect_timeout:g} s (fetch.connect_timeout)") from None
        except httpx.ReadTimeout:
            raise FetchError(f"{host}{via} sent nothing for "
                             f"{self.config.read_timeout:g} s (fetch.read_timeout)") from None
        except httpx.ConnectError as err:
            raise FetchError(f"cannot connect to {host}{via}: {_reason(err)}") from None
        except httpx.TimeoutException as err:
            raise FetchError(f"timed out talking to {host}: {_reason(err)}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
            raise FetchError(f"invalid feed URL {url!r}: {err}") from None
        except httpx.HTTPError as err:
            raise FetchError(f"HTTP error from {host}: {_reason(err)}") from None

    def _read_capped(self, resp: httpx.Response, url: str, deadline: float) -> bytes:
        cap = self.config.max_body_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"{url} declares {int(declared)} bytes, over the "
                             f"{cap}-byte limit (fetch.max_body_bytes)")
        chunks, total = [], 0
        # iter_bytes decompresses, so the cap also stops a gzip bomb.
        for chunk in resp.iter_bytes(_CHUNK):
            total += len(chunk)
            if total > cap:
                raise FetchError(f"{url} sent more than {cap} bytes, the limit "
                                 "(fetch.max_body_bytes); stopped reading")
            if time.monotonic() > deadline:
                raise FetchError(f"{url} took longer than {self.config.total_timeout:g} s "
                                 "in all (fetch.total_timeout); stopped reading")
            chunks.append(chunk)
        return b"".join(chunks)

    def _result(self, url: str, status: int, headers: dict[str, str], body: bytes,
                etag: str | None, last_modified: str | None,
                permanent_to: str | None) -> FetchResult:
        if status == 304:
            return FetchResult(url=url, status=304, body=b"", headers=headers,
                               etag=headers.get("etag") or etag,
                               last_modified=headers.get("last-modified") or last_modified,
                               not_modified=True, permanent_redirect_to=permanent_to)
        if 200 <= status < 300:
            return FetchResult(url=url, status=status, body=body, headers=headers,
                               etag=headers.get("etag"),
                               last_modified=headers.get("last-modified"),
                               permanent_redirect_to=permanent_to)
        raise _status_error(url, status, headers)


def _status_error(url: str, status: int, headers: Mapping[str, str]) -> FetchError:
    phrase = _phrase(status)
    if status == 410:
        return FetchError(f"HTTP 410 Gone from {url}: the publisher removed this feed; it is "
                          "disabled until you fix its URL or re-enable it",
                          status=status, permanent=True)
    if status in REDIRECT_STATUSES:
        return FetchError(f"HTTP {status} redirect from {url} without a Location header",
                          status=status)
    if status in RETRY_AFTER_STATUSES:
        retry = parse_retry_after(headers.get("retry-after"), _server_now(headers))
        wait = f"; server asks to retry after {retry:g} s" if retry is not None else ""
        return FetchError(f"HTTP {status} {phrase} from {url}{wait}", status=status,
                          retry_after=retry)
    return FetchError(f"HTTP {status} {phrase} from {url}", status=status)


def _server_now(headers: Mapping[str, str]) -> datetime:
    # An HTTP-date Retry-After is relative to the server's clock, which its Date header gives.
    try:
        date = parsedate_to_datetime(headers.get("date", ""))
        return date if date.tzinfo else date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return datetime.now(UTC)


def _phrase(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reason(err: Exception) -> str:
    # httpx wraps the socket error; its innermost message ("[Errno 111] Connection refused")
    # is what a person can act on.
    inner: BaseException = err
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    return str(inner) or str(err) or type(err).__name__


def read_file_url(url: str, cap: int, etag: str | None) -> FetchResult:
    """A file:// feed (demo, tests): same size cap; mtime and size act as its ETag."""
    path = Path(urllib.request.url2pathname(urlsplit(url).path))
    try:
        stat = path.stat()
        validator = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if etag and etag == validator:
            return FetchResult(url=url, status=304, body=b"", headers={}, etag=validator,
                               last_modified=None, not_modified=True)
        with path.open("rb") as fh:
            body = fh.read(cap + 1)
    except FileNotFoundError:
        raise FetchError(f"feed file {path} does not exist") from None
    except OSError as err:
        raise FetchError(f"cannot read feed file {path}: {err.strerror or err}") from None
    if len(body) > cap:
        raise FetchError(f"feed file {path} is larger than {cap} bytes (fetch.max_body_bytes)")
    return FetchResult(url=url, status=200, body=body, headers={}, etag=validator,
                       last_modified=None)
