"""Which hosts a feed may be fetched from, enforced when a URL is read and again at connect time.

A server that polls user-supplied URLs must not be turned against its own network (SSRF):
unless `[fetch] allow_private_addresses` is on, a host must resolve to public addresses only.
Checking the URL before the request is not enough on its own: the HTTP client would resolve
the name again to connect, and a hostile DNS server can answer with a public address the
first time and 127.0.0.1 the second (DNS rebinding). So the connection itself goes through
`PinnedBackend`, which resolves once, checks every answer and connects only to an address
that passed; the early URL check stays for its clear error before any request is made.

Behind a proxy (`[fetch] proxy`) the proxy resolves names and makes the connections, often
because this machine cannot resolve outside names at all. Then only what the URL itself
shows is refused (a non-public IP literal, localhost) and the proxy's own rules guard the
network behind it.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from monitor.errors import FetchError

Resolver = Callable[[str, int], list[str]]
AddressCheck = Callable[[str], bool]


def resolve_host(host: str, port: int) -> list[str]:
    """Every IP address host resolves to (the system resolver)."""
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


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """host as an IP address (an IPv6 zone id dropped), or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class AddressPolicy:
    """The address rule and the two functions it rests on (tests stand in for DNS with them)."""

    allow_private: bool
    resolver: Resolver = resolve_host
    is_public: AddressCheck = is_public_address
    via_proxy: bool = False  # names are the proxy's to resolve: check IP literals only
    no_proxy: tuple[str, ...] = ()  # hosts (and their subdomains) reached directly

    def proxied(self, host: str) -> bool:
        """Whether a request to host goes through the proxy."""
        return self.via_proxy and not bypasses_proxy(host, self.no_proxy)

    def addresses(self, host: str, port: int, url: str) -> list[str]:
        """Every address of host, all public; FetchError naming the first that is not.

        One non-public address among public ones is enough to refuse: a client may connect
        to any of them. (With allow_private the callers skip this: nothing to resolve.)
        """
        found = self.resolver(host, port)
        if not found:
            raise FetchError(f"cannot resolve host {host!r}: no addresses")
        for address in found:
            if not self.is_public(address):
                raise FetchError(
                    f"refusing {url}: host {host} resolves to the non-public address "
                    f"{address}; set [fetch] allow_private_addresses = true to allow "
                    "feeds on local networks")
        return found

    def check_url(self, url: str) -> None:
        """Refuse schemes we do not fetch and hosts that resolve to non-public addresses."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if not self.allow_private:
                raise FetchError(f"refusing file URL {url}: local files are only read when "
                                 "[fetch] allow_private_addresses = true")
            return
        if scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme {scheme or '(none)'!r} in {url!r}; "
                             "feeds must be http:// or https:// URLs")
        if not parts.hostname:
            raise FetchError(f"URL {url!r} has no host name")
        if self.allow_private:
            return
        if self.proxied(parts.hostname):
            self._check_literal(parts.hostname, url)
            return
        self.addresses(parts.hostname, parts.port or (443 if scheme == "https" else 80), url)

    def _check_literal(self, host: str, url: str) -> None:
        host = host.lower().rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            raise FetchError(f"refusing {url}: {host} is this machine; set [fetch] "
                             "allow_private_addresses = true to allow local feeds")
        if ip_literal(host) is None:
            return  # a name: the proxy resolves it
        if not self.is_public(host):
            raise FetchError(f"refusing {url}: {host} is a non-public address; set [fetch] "
                             "allow_private_addresses = true to allow feeds on local networks")


def bypasses_proxy(host: str, no_proxy: typing.Sequence[str]) -> bool:
    """host is one of no_proxy's entries (as FetchConfig normalises them), a subdomain of a
    name among them, or an IP address inside a network among them.

    Networks match addresses written in the URL only, as curl's NO_PROXY does: a name is the
    proxy's to resolve, so what it resolves to cannot decide the route.
    """
    host = host.lower().rstrip(".").removeprefix("[").removesuffix("]")
    address = ip_literal(host)
    if address is None:
        return any(host == entry or host.endswith("." + entry) for entry in no_proxy)
    return any(address in network for network in map(_network, no_proxy) if network)


@functools.lru_cache(maxsize=256)  # no_proxy entries repeat on every request to an IP literal
def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """entry as an IP network (an address is a network of one), None for a host name."""
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        return None


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, but a TCP connection goes only to an address the policy
    allowed, resolved once here (TLS still verifies the certificate against the host name,
    which httpcore passes to the handshake separately)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        if self._policy.allow_private:
            return self._sockets.connect_tcp(host, port, timeout, local_address, socket_options)
        error: Exception | None = None
        for address in self._policy.addresses(host, port, f"{host}:{port}"):
            try:
                return self._sockets.connect_tcp(address, port, timeout, local_address,
                                                 socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                error = err  # try the next address, as the system's own connect would
        assert error is not None  # addresses() returns at least one address or raises
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        raise FetchError("unix sockets are not feed addresses")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


def pinned_transport(policy: AddressPolicy, limits: httpx.Limits,
                     ssl_context: ssl.SSLContext | None = None) -> httpx.HTTPTransport:
    """httpx's own transport over a connection pool whose sockets come from PinnedBackend.

    httpx 0.28 has no hook for name resolution (encode/httpx#1319) and builds its pool
    without a network backend argument, so the pool is replaced by one built the same way
    with ours; tests/ingest/test_fetch.py fails if an httpx upgrade stops using it.
    """
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedBackend(policy))
    return transport
