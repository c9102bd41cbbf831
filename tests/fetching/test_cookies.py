"""Cookies go back to the origin that set them, and to no other."""

from __future__ import annotations

from fetching.cookies import MAX_COOKIES_PER_ORIGIN, OriginCookies

SITE = ("https", "lesahelien.example", 443)
OTHER_PORT = ("https", "lesahelien.example", 8443)


def test_a_cookie_goes_back_to_its_origin_only() -> None:
    jar = OriginCookies()
    jar.remember(SITE, ["session=abc; Path=/; HttpOnly", "lang=fr"])
    assert jar.header(SITE) == "session=abc; lang=fr"
    assert jar.header(OTHER_PORT) is None
    assert jar.header(("http", "lesahelien.example", 80)) is None


def test_a_cookie_is_replaced_and_removed_as_the_site_says() -> None:
    jar = OriginCookies()
    jar.remember(SITE, ["a=1", "b=2"])
    jar.remember(SITE, ["a=3", "b=; Max-Age=0"])
    assert jar.header(SITE) == "a=3"
    jar.remember(SITE, ["a=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"])
    assert jar.header(SITE) is None


def test_malformed_cookies_are_ignored() -> None:
    jar = OriginCookies()
    jar.remember(SITE, ["no-equals-sign", "=nameless", "x=" + "y" * 5000, "ok=1"])
    assert jar.header(SITE) == "ok=1"


def test_a_site_cannot_grow_the_jar_without_bound() -> None:
    jar = OriginCookies()
    jar.remember(SITE, [f"c{n}=v" for n in range(MAX_COOKIES_PER_ORIGIN + 10)])
    assert len((jar.header(SITE) or "").split("; ")) == MAX_COOKIES_PER_ORIGIN
