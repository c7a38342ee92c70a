"""Fetching through an HTTP proxy: a real forward proxy and real TLS on 127.0.0.1."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from feed_server import FeedServer, Reply, serving
from ingest_helpers import item, rss
from proxy_helpers import ForwardProxy

from monitor.config import config_from_dict
from monitor.config_sections import FetchConfig
from monitor.errors import ConfigError, FetchError
from monitor.ingest.addresses import bypasses_proxy
from monitor.ingest.fetch import HttpFetcher

FEED_HOST = "feeds.example.test"  # resolves nowhere: only the proxy can reach it


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _fetcher(env: dict[str, str] | None = None, **values: object) -> HttpFetcher:
    values = {"connect_timeout": 2, "read_timeout": 2, **values}
    return HttpFetcher(FetchConfig(**values), env=env or {})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_feed_server(ca: trustme.CA) -> Iterator[FeedServer]:
    """The scripted feed server speaking https, with a certificate for FEED_HOST."""
    server = FeedServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(FEED_HOST).configure_cert(context)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True,
                                              do_handshake_on_connect=False)
    with serving(server):
        yield server


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "proxy-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_http_feed_goes_through_the_proxy_which_resolves_the_name(
        feed_server: FeedServer) -> None:
    feed_server.set("/rss", Reply(body=rss(item(1))))
    with ForwardProxy(http_upstream=("127.0.0.1", feed_server.port)) as proxy, \
            _fetcher(proxy=proxy.url, user_agent="FinSentinel-test/1") as fetcher:
        # allow_private_addresses stays off: the proxy on 127.0.0.1 is ours to use, and the
        # feed's name is left to the proxy (it does not resolve here).
        result = fetcher.fetch(f"http://{FEED_HOST}/rss")
    assert result.status == 200 and b"Headline number 1" in result.body
    assert [(m, target) for m, target, _ in proxy.requests] == [
        ("GET", f"http://{FEED_HOST}/rss")]
    path, headers = feed_server.requests[0]
    assert path == "/rss" and headers["host"] == FEED_HOST
    assert headers["user-agent"] == "FinSentinel-test/1"


def test_https_feed_is_tunnelled_with_credentials_from_the_environment(
        tls_feed_server: FeedServer, ca_file: str) -> None:
    tls_feed_server.set("/rss", Reply(body=rss(item(2))))
    with ForwardProxy(tls_upstream=("127.0.0.1", tls_feed_server.port),
                      auth=_basic("alice", "s3cret")) as proxy:
        env = {"CORP_PROXY": f"http://alice:s3cret@127.0.0.1:{proxy.port}"}
        with _fetcher(env, proxy_env="CORP_PROXY", ca_bundle=ca_file) as fetcher:
            result = fetcher.fetch(f"https://{FEED_HOST}/rss")
    assert result.status == 200 and b"Headline number 2" in result.body
    method, target, headers = proxy.requests[0]
    assert (method, target) == ("CONNECT", f"{FEED_HOST}:443")
    assert headers["proxy-authorization"] == _basic("alice", "s3cret")
    # The feed server saw the request inside the tunnel, not the proxy's credentials.
    assert "proxy-authorization" not in tls_feed_server.requests[0][1]


def test_an_https_proxy_is_checked_against_the_same_ca_bundle(
        tls_feed_server: FeedServer, ca: trustme.CA, ca_file: str) -> None:
    tls_feed_server.set("/rss", Reply(body=rss(item(6))))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with ForwardProxy(tls_upstream=("127.0.0.1", tls_feed_server.port), tls=context) as proxy:
        assert proxy.url.startswith("https://")
        with _fetcher(proxy=proxy.url, ca_bundle=ca_file) as fetcher:  # TLS inside TLS
            result = fetcher.fetch(f"https://{FEED_HOST}/rss")
        with _fetcher(proxy=proxy.url) as fetcher, \
                pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetcher.fetch(f"https://{FEED_HOST}/rss")  # the proxy's own certificate fails
    assert b"Headline number 6" in result.body
    assert [(m, t) for m, t, _ in proxy.requests] == [("CONNECT", f"{FEED_HOST}:443")]


def test_the_feed_certificate_is_still_checked_through_the_tunnel(
        tls_feed_server: FeedServer) -> None:
    tls_feed_server.set("/rss", Reply(body=rss(item(3))))
    with ForwardProxy(tls_upstream=("127.0.0.1", tls_feed_server.port)) as proxy, \
            _fetcher(proxy=proxy.url) as fetcher:  # certifi's CAs do not know the test CA
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetcher.fetch(f"https://{FEED_HOST}/rss")
    assert tls_feed_server.bodies_sent["/rss"] == 0


def test_wrong_proxy_credentials_are_named_without_repeating_them(
        tls_feed_server: FeedServer, feed_server: FeedServer, ca_file: str) -> None:
    feed_server.set("/rss", Reply(body=rss(item(4))))
    with ForwardProxy(http_upstream=("127.0.0.1", feed_server.port),
                      tls_upstream=("127.0.0.1", tls_feed_server.port),
                      auth=_basic("alice", "s3cret")) as proxy:
        env = {"CORP_PROXY": f"http://alice:wrong-pass@127.0.0.1:{proxy.port}"}
        with _fetcher(env, proxy_env="CORP_PROXY", ca_bundle=ca_file) as fetcher:
            with pytest.raises(FetchError, match="proxy refused .*407") as tunnelled:
                fetcher.fetch(f"https://{FEED_HOST}/rss")
            with pytest.raises(FetchError, match="HTTP 407 Proxy Authentication Required"
                               ) as plain:
                fetcher.fetch(f"http://{FEED_HOST}/rss")
    for err in (tunnelled, plain):
        assert "wrong-pass" not in str(err.value)
    assert feed_server.requests == [] and tls_feed_server.requests == []


@pytest.mark.parametrize("url", ["http://10.0.0.5/rss", "http://127.0.0.1:8080/rss",
                                 "http://[::1]/rss", "http://localhost/rss",
                                 "https://api.localhost/rss"])
def test_through_a_proxy_local_addresses_in_the_url_are_still_refused(url: str) -> None:
    with ForwardProxy() as proxy, _fetcher(proxy=proxy.url) as fetcher:
        with pytest.raises(FetchError, match="refusing .*allow_private_addresses"):
            fetcher.fetch(url)
    assert proxy.requests == []


def test_no_proxy_hosts_and_their_subdomains_are_fetched_directly(
        feed_server: FeedServer) -> None:
    feed_server.set("/rss", Reply(body=rss(item(5))))
    names = {"intranet.corp.test": ["127.0.0.1"]}  # this machine's DNS for the direct hosts
    with ForwardProxy(http_upstream=("127.0.0.1", feed_server.port)) as proxy:
        config = FetchConfig(connect_timeout=2, read_timeout=2, proxy=proxy.url,
                             no_proxy=(".corp.test",))
        with HttpFetcher(config, env={}, resolver=lambda h, p: names[h],
                         is_public=lambda address: True) as fetcher:
            direct = fetcher.fetch(f"http://intranet.corp.test:{feed_server.port}/rss")
            assert proxy.requests == []  # resolved here, connected to directly
            proxied = fetcher.fetch(f"http://{FEED_HOST}/rss")
    assert b"Headline number 5" in direct.body and b"Headline number 5" in proxied.body
    assert [target for _, target, _ in proxy.requests] == [f"http://{FEED_HOST}/rss"]
    assert [h["host"] for _, h in feed_server.requests] == [
        f"intranet.corp.test:{feed_server.port}", FEED_HOST]


@pytest.mark.parametrize(("listen", "no_proxy"), [("127.0.0.1", "127.0.0.0/8"),
                                                  ("::1", "[::1]")])
def test_no_proxy_networks_and_addresses_are_fetched_directly(listen: str,
                                                               no_proxy: str) -> None:
    with serving(FeedServer(listen)) as server, ForwardProxy(
            http_upstream=("127.0.0.1", 1)) as proxy, HttpFetcher(
            FetchConfig(connect_timeout=2, read_timeout=2, proxy=proxy.url,
                        no_proxy=(no_proxy,), allow_private_addresses=True), env={}) as fetcher:
        server.set("/rss", Reply(body=rss(item(3))))
        direct = fetcher.fetch(server.url("/rss"))
        assert b"Headline number 3" in direct.body and proxy.requests == []
        # Another loopback address, outside the entry, still goes to the proxy.
        other = "http://127.0.0.2/rss" if ":" in listen else "http://[::1]/rss"
        with pytest.raises(FetchError):
            fetcher.fetch(other)
    # httpcore writes an IPv6 host into a proxy's request-target without its brackets.
    unbracketed = other.replace("[", "").replace("]", "")
    assert [target.replace("[", "").replace("]", "") for _, target, _ in proxy.requests] == [
        unbracketed]
    assert [path for path, _ in server.requests] == ["/rss"]


@pytest.mark.parametrize(("host", "expected"), [
    ("10.1.2.3", True), ("10.255.0.1", True), ("11.0.0.1", False),
    ("fd00::7", True), ("[FD00::7]", True), ("fe80::1", False),
    ("192.168.1.20", True), ("192.168.1.21", False),
    ("intranet.corp.test", True), ("corp.test", True), ("notcorp.test", False),
    # A name is routed by the name: what it might resolve to is the proxy's business.
    ("ten.example", False),
])
def test_no_proxy_matching(host: str, expected: bool) -> None:
    entries = config_from_dict({"fetch": {"no_proxy": [
        "10.0.0.0/8", "fd00::/8", "192.168.1.20", "corp.test"]}}).fetch.no_proxy
    assert bypasses_proxy(host, entries) is expected


def test_no_proxy_hosts_keep_the_direct_address_rules() -> None:
    with ForwardProxy() as proxy, HttpFetcher(
            FetchConfig(proxy=proxy.url, no_proxy=("corp.test",)), env={},
            resolver=lambda h, p: ["10.0.0.9"]) as fetcher:
        with pytest.raises(FetchError, match="resolves to the non-public address 10.0.0.9"):
            fetcher.fetch("http://wiki.corp.test/rss")
    assert proxy.requests == []


def test_an_unreachable_proxy_is_named(closed_port_url: str) -> None:
    proxy = closed_port_url.removesuffix("/feed.xml")
    with _fetcher(proxy=proxy) as fetcher, \
            pytest.raises(FetchError, match=f"{FEED_HOST} via the proxy 127.0.0.1:"):
        fetcher.fetch(f"http://{FEED_HOST}/rss")


def test_proxy_env_must_be_set_and_hold_a_proxy_url() -> None:
    with pytest.raises(FetchError, match="proxy_env names CORP_PROXY, which is not set"):
        _fetcher({}, proxy_env="CORP_PROXY")
    with pytest.raises(FetchError, match="proxy URL in CORP_PROXY must be an http") as err:
        _fetcher({"CORP_PROXY": "socks9://bob:hunter2@proxy:1080"}, proxy_env="CORP_PROXY")
    assert "hunter2" not in str(err.value)


def test_an_unreadable_ca_bundle_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(FetchError, match=f"ca_bundle {missing}: cannot load"):
        _fetcher(ca_bundle=str(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(FetchError, match=f"ca_bundle {garbage}: cannot load"):
        _fetcher(ca_bundle=str(garbage))


@pytest.mark.parametrize(("fetch", "message"), [
    ({"proxy": "http://bob:hunter2@proxy.corp:3128"}, "carries credentials.*proxy_env"),
    ({"proxy": "proxy.corp:3128"}, "must be an http:// or https:// proxy URL"),
    ({"proxy": "http://proxy.corp:3128", "proxy_env": "HTTPS_PROXY"}, "at most one of"),
    ({"no_proxy": ["http://intranet.corp"]}, "no_proxy entry 'http://intranet.corp'"),
    ({"no_proxy": ["intranet.corp:8080"]}, "no scheme, port or path"),
    ({"no_proxy": ["10.0.0.0/33"]}, "no_proxy entry '10.0.0.0/33' is not a host name, IP"),
    ({"no_proxy": ["[fd00::1]:8080"]}, "no_proxy entry '\\[fd00::1\\]:8080'"),
])
def test_proxy_settings_are_validated(fetch: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        config_from_dict({"fetch": fetch})
    assert "hunter2" not in str(err.value)


def test_no_proxy_entries_are_normalised() -> None:
    config = config_from_dict({"fetch": {"no_proxy": [
        " *.Corp.Example", ".lab.test", "10.0.0.7", "[FD00:0::1]", "10.1.2.3/8"]}})
    assert config.fetch.no_proxy == ("corp.example", "lab.test", "10.0.0.7", "fd00::1",
                                     "10.0.0.0/8")


def test_a_relative_ca_bundle_is_read_from_the_config_directory(tmp_path: Path) -> None:
    config = config_from_dict({"fetch": {"ca_bundle": "certs/corp.pem"}}, base_dir=tmp_path)
    assert config.fetch.ca_bundle == str(tmp_path.resolve() / "certs" / "corp.pem")
