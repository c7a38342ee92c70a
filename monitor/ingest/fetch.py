"""Fetch a feed's bytes: timeouts, size cap, conditional GET, redirects, address policy."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.config import FetchConfig
from monitor.errors import FetchError
from monitor.types import FetchResult

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024

Resolver = Callable[[str, int], list[str]]


class Fetcher(Protocol):
    """Gets one feed document; raises FetchError with a readable message on failure."""

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult: ...

    def close(self) -> None: ...


def resolve_host(host: str, port: int) -> list[str]:
    """Every IP address host resolves to (the system resolver, as the HTTP client will use)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchError(f"cannot resolve host {host!r}: {err}") from None
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local,
    reserved, multicast, unspecified or shared (CGNAT) space, IPv4-mapped IPv6 included."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_allowed(url: str, config: FetchConfig, resolver: Resolver = resolve_host) -> None:
    """Refuse schemes we do not fetch and hosts that resolve to non-public addresses.

    Every resolved address is checked: one private address among public ones is enough to
    refuse, since the client may connect to any of them.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not config.allow_private_addresses:
            raise FetchError(f"refusing file URL {url}: local files are only read when "
                             "[fetch] allow_private_addresses = true")
        return
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {scheme or '(none)'!r} in {url!r}; "
                         "feeds must be http:// or https:// URLs")
    if not parts.hostname:
        raise FetchError(f"URL {url!r} has no host name")
    if config.allow_private_addresses:
        return
    port = parts.port or (443 if scheme == "https" else 80)
    for address in resolver(parts.hostname, port):
        if not is_public_address(address):
            raise FetchError(
                f"refusing {url}: host {parts.hostname} resolves to the non-public address "
                f"{address}; set [fetch] allow_private_addresses = true to allow feeds on "
                "local networks")


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
                 transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._resolver = resolver
        timeout = httpx.Timeout(connect=config.connect_timeout, read=config.read_timeout,
                                write=config.read_timeout, pool=config.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport,
            headers={"User-Agent": config.user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, "
                               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
            # Settings come from the config only (house rule), not HTTP_PROXY/SSL_* env vars.
            trust_env=False,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult:
        if urlsplit(url).scheme.lower() == "file":
            check_url_allowed(url, self.config, self._resolver)
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
            check_url_allowed(current, self.config, self._resolver)
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
        try:
            with self._client.stream("GET", url, headers=dict(extra_headers)) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                body = b""
                if 200 <= resp.status_code < 300:
                    body = self._read_capped(resp, url, deadline)
                return resp.status_code, headers, body
        except httpx.ConnectTimeout:
            raise FetchError(f"connecting to {host} timed out after "
                             f"{self.config.connect_timeout:g} s (fetch.connect_timeout)") from None
        except httpx.ReadTimeout:
            raise FetchError(f"{host} sent nothing for {self.config.read_timeout:g} s "
                             "(fetch.read_timeout)") from None
        except httpx.ConnectError as err:
            raise FetchError(f"cannot connect to {host}: {_reason(err)}") from None
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
