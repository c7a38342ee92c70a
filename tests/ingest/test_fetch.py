"""The fetcher's pure parts and its HTTP behaviour against a real server on 127.0.0.1."""

from __future__ import annotations

import gzip
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from feed_server import FeedServer, Reply
from ingest_helpers import item, rss

from monitor.config_sections import FetchConfig
from monitor.errors import FetchError
from monitor.ingest.addresses import AddressPolicy, is_public_address
from monitor.ingest.fetch import HttpFetcher, parse_retry_after
from tests.conftest import NOW


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
                                     "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1",
                                     "240.0.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0"])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2606:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["8.8.8.8", "10.0.0.5"]  # one private address among public ones

    with pytest.raises(FetchError, match="non-public address 10.0.0.5"):
        AddressPolicy(False, resolver).check_url("https://feeds.example.com/rss")
    AddressPolicy(False, lambda h, p: ["8.8.8.8"]).check_url("https://feeds.example.com/rss")


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "javascript:alert(1)",
                                 "gopher://x/", "feed.xml"])
def test_only_http_schemes(url: str) -> None:
    with pytest.raises(FetchError, match="scheme"):
        AddressPolicy(allow_private=True).check_url(url)


def test_file_urls_only_when_allowed() -> None:
    with pytest.raises(FetchError, match="allow_private_addresses"):
        AddressPolicy(allow_private=False).check_url("file:///etc/passwd")
    AddressPolicy(allow_private=True).check_url("file:///tmp/feed.xml")


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(format_datetime(NOW + timedelta(hours=2), usegmt=True), NOW) == 7200
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=2), usegmt=True), NOW) == 0
    assert parse_retry_after("soon, maybe", NOW) is None
    assert parse_retry_after(None, NOW) is None


def _fetcher(**overrides: object) -> HttpFetcher:
    values: dict[str, object] = {"connect_timeout": 0.5, "read_timeout": 0.5,
                                 "allow_private_addresses": True, "max_body_bytes": 4096}
    values.update(overrides)
    return HttpFetcher(FetchConfig(**values))  # type: ignore[arg-type]


def test_user_agent_and_conditional_headers_are_sent(feed_server: FeedServer) -> None:
    url = feed_server.set("/f", Reply(body=rss(item(1)), etag='"v1"',
                                      last_modified="Mon, 02 Nov 2026 10:00:00 GMT"))
    with _fetcher(user_agent="FinSentinel-test/1") as fetcher:
        first = fetcher.fetch(url)
        second = fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert first.status == 200 and first.etag == '"v1"' and not first.not_modified
    assert second.not_modified and second.status == 304 and second.body == b""
    headers = feed_server.requests[-1][1]
    assert headers["user-agent"] == "FinSentinel-test/1"
    assert headers["if-none-match"] == '"v1"'
    assert headers["if-modified-since"] == "Mon, 02 Nov 2026 10:00:00 GMT"


def test_temporary_redirect_does_not_move_the_feed(feed_server: FeedServer) -> None:
    feed_server.set("/tmp", Reply(status=302, headers={"Location": "/real"}))
    feed_server.set("/real", Reply(body=rss(item(1))))
    with _fetcher() as fetcher:
        result = fetcher.fetch(feed_server.url("/tmp"))
    assert result.url == feed_server.url("/real") and result.permanent_redirect_to is None


def test_permanent_then_temporary_redirect_moves_only_through_the_permanent_hop(
        feed_server: FeedServer) -> None:
    feed_server.set("/a", Reply(status=308, headers={"Location": "/b"}))
    feed_server.set("/b", Reply(status=307, headers={"Location": "/c"}))
    feed_server.set("/c", Reply(body=rss(item(1))))
    with _fetcher() as fetcher:
        result = fetcher.fetch(feed_server.url("/a"))
    assert result.permanent_redirect_to == feed_server.url("/b")


def test_too_many_redirects(feed_server: FeedServer) -> None:
    for i in range(4):
        feed_server.set(f"/r{i}", Reply(status=302, headers={"Location": f"/r{i + 1}"}))
    feed_server.set("/r4", Reply(body=rss(item(1))))
    with _fetcher(max_redirects=3) as fetcher, pytest.raises(FetchError, match="more than 3"):
        fetcher.fetch(feed_server.url("/r0"))


def test_declared_length_over_the_cap_is_refused_before_reading(
        feed_server: FeedServer) -> None:
    url = feed_server.set("/big", Reply(body=b"x" * 10_000))
    with _fetcher() as fetcher, pytest.raises(FetchError, match="declares 10000 bytes"):
        fetcher.fetch(url)


def test_file_url_when_allowed_with_cap_and_mtime_validator(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss(item(1)))
    with _fetcher() as fetcher:
        first = fetcher.fetch(path.as_uri())
        again = fetcher.fetch(path.as_uri(), etag=first.etag)
        path.write_bytes(b"x" * 5000)
        with pytest.raises(FetchError, match="larger than 4096 bytes"):
            fetcher.fetch(path.as_uri())
        with pytest.raises(FetchError, match="does not exist"):
            fetcher.fetch((tmp_path / "missing.xml").as_uri())
    assert first.status == 200 and b"Headline number 1" in first.body
    assert again.not_modified


def test_gzip_bomb_is_stopped_by_the_cap_on_decompressed_bytes(feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 1_000_000)
    url = feed_server.set("/gz", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    assert len(bomb) < 4096
    with _fetcher() as fetcher, pytest.raises(FetchError, match="sent more than 4096 bytes"):
        fetcher.fetch(url)


def _only_127_0_0_1_is_public(address: str) -> bool:
    """Stands in for is_public_address so that our server on 127.0.0.1 plays a public host
    and every other address a private one."""
    return address == "127.0.0.1"


def _policy_config() -> FetchConfig:
    return FetchConfig(allow_private_addresses=False, connect_timeout=0.5, read_timeout=0.5)


def test_each_redirect_hop_is_checked_against_the_address_policy(
        feed_server: FeedServer) -> None:
    """A public first hop that redirects to a private host is refused at that hop.

    The resolver stands in for DNS: public.test is our server, internal.test a private
    address, so the first request really reaches the server and the second is refused
    before it is made.
    """
    names = {"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]}
    feed_server.set("/hop", Reply(status=302, headers={
        "Location": f"http://internal.test:{feed_server.port}/internal"}))
    feed_server.set("/internal", Reply(body=rss(item(1))))
    with HttpFetcher(_policy_config(), resolver=lambda h, p: names[h],
                     is_public=_only_127_0_0_1_is_public) as fetcher, pytest.raises(
            FetchError, match="internal.test resolves to the non-public address 127.0.0.2"):
        fetcher.fetch(f"http://public.test:{feed_server.port}/hop")
    assert feed_server.hits["/hop"] == 1 and feed_server.hits["/internal"] == 0


def test_the_connection_goes_only_to_the_address_that_was_checked(
        feed_server: FeedServer) -> None:
    """The client does not resolve the name again: feeds.test exists only in our resolver,
    and the first of its addresses (nothing listens there) fails over to the second."""
    url = feed_server.set("/f", Reply(body=rss(item(1)))).replace("127.0.0.1", "feeds.test")
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.3", "127.0.0.1"]

    with HttpFetcher(_policy_config(), resolver=resolver,
                     is_public=lambda a: a.startswith("127.")) as fetcher:
        result = fetcher.fetch(url)
    assert b"<rss" in result.body and feed_server.hits["/f"] == 1
    assert asked == ["feeds.test", "feeds.test"]  # the URL check, then the connection


def test_dns_rebinding_between_check_and_connect_is_refused(feed_server: FeedServer) -> None:
    """A DNS server that answers a public address for the check and a private one for the
    connection (DNS rebinding) gets nothing: the connection is checked again and refused."""
    url = feed_server.set("/f", Reply(body=rss(item(1)))).replace("127.0.0.1", "feeds.test")
    answers = [["127.0.0.1"], ["10.0.0.7"]]
    with HttpFetcher(_policy_config(), resolver=lambda h, p: answers.pop(0),
                     is_public=_only_127_0_0_1_is_public) as fetcher, pytest.raises(
            FetchError, match="feeds.test resolves to the non-public address 10.0.0.7"):
        fetcher.fetch(url)
    assert feed_server.hits["/f"] == 0 and not answers
