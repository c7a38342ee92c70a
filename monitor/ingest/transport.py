"""How feed requests leave this machine: straight to the feed's host (address-pinned, see
monitor.ingest.addresses) or through the configured proxy, trusting the bundled CAs or the
configured bundle."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from monitor.config import secret_from_env
from monitor.config_sections import FetchConfig, check_proxy_url
from monitor.errors import FetchError
from monitor.ingest.addresses import AddressPolicy, pinned_transport


def proxy_url(config: FetchConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The proxy every request goes through, or None to connect directly.

    A proxy_env URL may carry credentials, so no message here repeats it.
    """
    if config.proxy:
        return config.proxy
    if not config.proxy_env:
        return None
    url = secret_from_env(config.proxy_env, None if env is None else dict(env))
    if url is None:
        raise FetchError(f"[fetch] proxy_env names {config.proxy_env}, which is not set; set "
                         "it to the proxy's URL (http://user:password@host:port) or empty "
                         "proxy_env to connect directly")
    try:
        check_proxy_url(url, f"the proxy URL in {config.proxy_env}", allow_credentials=True)
    except ValueError as err:
        raise FetchError(str(err)) from None
    return url


def proxy_name(url: str) -> str:
    """host:port of a proxy URL: what messages and logs may show of it."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{parts.hostname}:{port}"


def tls_context(config: FetchConfig) -> ssl.SSLContext:
    """Certificate checks against certifi's CAs, or only those in [fetch] ca_bundle."""
    if not config.ca_bundle:
        return httpx.create_ssl_context(trust_env=False)
    try:
        return ssl.create_default_context(cafile=config.ca_bundle)
    except (OSError, ssl.SSLError) as err:
        reason = getattr(err, "strerror", None) or getattr(err, "reason", None) or err
        raise FetchError(f"[fetch] ca_bundle {config.ca_bundle}: cannot load CA certificates "
                         f"({reason}); point it at a PEM file of CA certificates, or empty it "
                         "to trust the bundled ones") from None


def feed_transport(config: FetchConfig, policy: AddressPolicy, limits: httpx.Limits,
                   proxy: str | None) -> httpx.BaseTransport:
    """The transport for feed requests.

    Without a proxy: pinned direct connections. Through a proxy every TCP connection goes to
    the proxy (often on the local network, so pinning would refuse it); https feeds are
    tunnelled with CONNECT and their certificates still checked here, against the same CAs
    as the proxy's own when it speaks https. no_proxy hosts go over a pinned direct
    transport, under the same address rules as without a proxy.
    """
    context = tls_context(config)
    direct = pinned_transport(policy, limits, context)
    if proxy is None:
        return direct
    # httpcore refuses a proxy TLS context for an http:// proxy (it would never be used).
    https_proxy = urlsplit(proxy).scheme.lower() == "https"
    proxied = httpx.HTTPTransport(verify=context, limits=limits, trust_env=False,
                                  proxy=httpx.Proxy(proxy, ssl_context=context if https_proxy
                                                    else None))
    return ProxyRouter(policy, proxied=proxied, direct=direct)


class ProxyRouter(httpx.BaseTransport):
    """Sends each request through the proxy or, for a no_proxy host, directly.

    Routing here rather than with httpx mounts keeps one rule (AddressPolicy.proxied) for
    both the route and the address checks, and lets no_proxy hold IP networks, which httpx's
    URL patterns cannot express.
    """

    def __init__(self, policy: AddressPolicy, *, proxied: httpx.BaseTransport,
                 direct: httpx.BaseTransport) -> None:
        self._policy, self._proxied, self._direct = policy, proxied, direct

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        route = self._proxied if self._policy.proxied(request.url.host) else self._direct
        return route.handle_request(request)

    def close(self) -> None:
        self._proxied.close()
        self._direct.close()
