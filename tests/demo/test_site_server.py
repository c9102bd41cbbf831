"""The bundled sample news site: what it serves, and that its traps are the ones it declares.

The end-to-end tests of the ingest flow rely on these cases being exactly as `demo/site/README.md`
describes them, so each one is pinned here against a real server on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import urllib.robotparser
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest
import yaml

from demo.site_server import (
    FEED_CONTENT_TYPES,
    GZIP_CONTENT_TYPE,
    NEWS_SITEMAP_PATH,
    SITE_ROOT,
    SITEMAP_INDEX_PATH,
    TEXT_SUFFIXES,
    DemoSite,
    FeedSpec,
    RequestRecord,
    load_outlets,
)
from extractors.date_window import child_sitemap_is_outside, entry_is_outside, parse_window
from extractors.dates import page_metadata_date
from extractors.errors import ConfigError, UsageError
from extractors.robots import sitemap_urls_from_robots
from extractors.sitemaps import SitemapEntry, parse_sitemap

OUTLETS = load_outlets(SITE_ROOT)
BY_SLUG = {o.slug: o for o in OUTLETS}
TILLABERI = "/article/tillaberi-deplaces-ouallam-eigs-48230.html"
TIBESTI = "/actualites/tibesti-affrontements-orpailleurs-kouri-bougoudi.html"
PRIVATE_PAGE = "/prive/2025/03/16/planning-redaction-semaine-12.html"
KIDAL = "/actualites/2025/03/13/kidal-services-etat-rouvrent.html"
# The brief asks for a realistic volume: enough to exercise dedup and tagging, small enough to
# keep the end-to-end test quick.
FEED_ITEMS_RANGE = range(40, 61)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, follow_redirects=False) as c:
        yield c


def parse_feed(response: httpx.Response) -> feedparser.FeedParserDict:
    headers = {k.lower(): v for k, v in response.headers.items()}
    return feedparser.parse(response.content, response_headers=headers)


def declared_status(slug: str, path: str) -> int | None:
    override = BY_SLUG[slug].overrides.get(path)
    return override.status if override else None


def served_files(slug: str) -> list[str]:
    """URL paths of every file in an outlet's directory, directory indexes as `dir/`."""
    outlet_dir = SITE_ROOT / slug
    paths = []
    for file in sorted(outlet_dir.rglob("*")):
        if file.is_file():
            rel = "/" + file.relative_to(outlet_dir).as_posix()
            paths.append(rel.removesuffix("index.html"))
    return paths


def write_site(root: Path, outlets: list[dict], files: dict[str, str]) -> Path:
    (root / "outlets.yaml").write_text(yaml.safe_dump({"version": 1, "outlets": outlets}))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    for outlet in outlets:
        (root / outlet["slug"]).mkdir(exist_ok=True)
    return root


# --------------------------------------------------------------------------- serving


def test_each_outlet_gets_its_own_port_on_loopback(site: DemoSite) -> None:
    assert set(site.bases) == set(BY_SLUG)
    assert len(set(site.bases.values())) == len(BY_SLUG)
    for base in site.bases.values():
        assert urlsplit(base).hostname == "127.0.0.1"


def test_the_site_has_at_least_five_outlets_with_countries(site: DemoSite) -> None:
    assert len(OUTLETS) >= 5
    assert all(o.country for o in OUTLETS)


def test_feeds_list_every_declared_feed_with_outlet_name_and_country(site: DemoSite) -> None:
    declared = {
        (o.name, site.bases[o.slug] + f.path, o.country, o.slug) for o in OUTLETS for f in o.feeds
    }
    listed = {(f.name, f.url, f.country, f.outlet) for f in site.feeds}
    assert listed == declared


def test_placeholders_become_the_outlets_own_base_url(site: DemoSite, client: httpx.Client) -> None:
    body = client.get(site.url("bamako-matin", "/rss.xml")).text
    assert f"<link>{site.bases['bamako-matin']}{KIDAL}</link>" in body
    assert "{{BASE" not in body


def test_cross_outlet_placeholder_points_to_the_other_outlet(
    site: DemoSite, client: httpx.Client
) -> None:
    page = "/depeches/2025/03/17/asp-20250317-003.html"
    body = client.get(site.url("agence-sahel-presse", page)).text
    target = site.url("alger-horizons", "/monde/sahel/accord-alger-quatorze-mois-apres.html")
    assert f'href="{target}"' in body
    assert client.get(target).status_code == 200


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_every_file_is_served_whole_with_no_placeholder_left(
    site: DemoSite, client: httpx.Client, slug: str
) -> None:
    for path in served_files(slug):
        response = client.get(site.url(slug, path))
        assert response.status_code == 200, path
        if Path(path or "index.html").suffix in TEXT_SUFFIXES or path.endswith("/"):
            assert b"{{" not in response.content, path
        else:
            assert response.content == (SITE_ROOT / slug / path.lstrip("/")).read_bytes()


def test_content_type_follows_the_feed_format_and_file_extension(
    site: DemoSite, client: httpx.Client
) -> None:
    atom = client.get(site.url("niamey-info", "/atom.xml"))
    rss = client.get(site.url("bamako-matin", "/rss.xml"))
    page = client.get(site.url("bamako-matin", KIDAL))
    robots = client.get(site.url("bamako-matin", "/robots.txt"))
    assert atom.headers["content-type"] == FEED_CONTENT_TYPES["atom"]
    assert rss.headers["content-type"] == FEED_CONTENT_TYPES["rss"]
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert robots.headers["content-type"] == "text/plain; charset=utf-8"


def test_query_string_and_fragment_do_not_change_the_page(
    site: DemoSite, client: httpx.Client
) -> None:
    clean = client.get(site.url("bamako-matin", KIDAL))
    tracked = client.get(site.url("bamako-matin", KIDAL + "?utm_source=rss&utm_medium=feed"))
    assert tracked.status_code == 200
    assert tracked.content == clean.content


def test_missing_file_answers_404(site: DemoSite, client: httpx.Client) -> None:
    assert client.get(site.url("alger-horizons", "/nulle-part.html")).status_code == 404


def test_directory_without_trailing_slash_redirects_to_the_slash_form(
    site: DemoSite, client: httpx.Client
) -> None:
    path = "/2025/03/18/dori-37-ecoles-rouvrent-sahel"
    response = client.get(site.url("ouaga-hebdo", path))
    assert response.status_code == 301
    assert response.headers["location"] == site.url("ouaga-hebdo", path + "/")


@pytest.mark.parametrize("path", ["/../outlets.yaml", "/%2e%2e/outlets.yaml", "/../niamey-info/"])
def test_paths_escaping_the_outlet_directory_are_not_served(site: DemoSite, path: str) -> None:
    # http.client sends the path verbatim; httpx would normalise the '..' away first.
    port = urlsplit(site.bases["bamako-matin"]).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404
    assert b"outlets" not in body


def test_head_sends_the_headers_of_get_without_a_body(site: DemoSite, client: httpx.Client) -> None:
    head = client.head(site.url("bamako-matin", KIDAL))
    get = client.get(site.url("bamako-matin", KIDAL))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_requests_are_logged_with_outlet_method_path_and_status(
    site: DemoSite, client: httpx.Client
) -> None:
    client.get(site.url("niamey-info", "/feeds/archives.xml?log-check"))
    client.head(site.url("alger-horizons", "/absent.html?log-check"))
    logged = [r for r in site.requests if r.path.endswith("?log-check")]
    assert logged == [
        RequestRecord("niamey-info", "GET", "/feeds/archives.xml?log-check", 500),
        RequestRecord("alger-horizons", "HEAD", "/absent.html?log-check", 404),
    ]


def test_servers_stop_when_the_block_exits() -> None:
    with DemoSite() as running:
        base = running.bases["alger-horizons"]
        assert httpx.get(base + "/robots.txt", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/robots.txt", timeout=5)


def test_a_running_site_cannot_be_entered_twice(site: DemoSite) -> None:
    with pytest.raises(UsageError):
        site.__enter__()


# --------------------------------------------------------------------------- conditional GET


def test_matching_etag_gets_304_with_no_body(site: DemoSite, client: httpx.Client) -> None:
    url = site.url("niamey-info", "/atom.xml")
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert first.headers["etag"].startswith('"')  # strong validator
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_stale_etag_gets_the_full_feed(site: DemoSite, client: httpx.Client) -> None:
    url = site.url("niamey-info", "/atom.xml")
    response = client.get(url, headers={"If-None-Match": '"not-the-current-one"'})
    assert response.status_code == 200
    assert b"<feed" in response.content


def test_if_modified_since_at_last_modified_gets_304(site: DemoSite, client: httpx.Client) -> None:
    url = site.url("alger-horizons", "/rss/sahel.xml")
    last_modified = client.get(url).headers["last-modified"]
    again = client.get(url, headers={"If-Modified-Since": last_modified})
    older = client.get(url, headers={"If-Modified-Since": "Sat, 01 Mar 2025 00:00:00 GMT"})
    assert again.status_code == 304
    assert older.status_code == 200


def test_etag_wins_over_if_modified_since(site: DemoSite, client: httpx.Client) -> None:
    url = site.url("alger-horizons", "/rss/sahel.xml")
    last_modified = client.get(url).headers["last-modified"]
    response = client.get(
        url, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- declared traps


def test_declared_500_feed_always_answers_500(site: DemoSite, client: httpx.Client) -> None:
    url = site.url("niamey-info", "/feeds/archives.xml")
    assert [client.get(url).status_code for _ in range(2)] == [500, 500]


def test_declared_404_feed_answers_404(site: DemoSite, client: httpx.Client) -> None:
    assert client.get(site.url("ouaga-hebdo", "/feed-ancien.xml")).status_code == 404


def test_wrong_charset_header_is_served_over_utf8_bytes(
    site: DemoSite, client: httpx.Client
) -> None:
    response = client.get(site.url("niamey-info", TILLABERI))
    assert response.headers["content-type"] == "text/html; charset=iso-8859-1"
    text = response.content.decode("utf-8")  # the real encoding: this must not raise
    assert "Tillabéri" in text
    assert "d’attaques" in text
    assert "<meta charset" not in text.lower()
    assert "Tillabéri" not in response.content.decode("iso-8859-1")  # what a naive client sees


def test_windows_1252_page_is_stored_and_declared_as_windows_1252(
    site: DemoSite, client: httpx.Client
) -> None:
    response = client.get(site.url("ndjamena-presse", TIBESTI))
    assert response.headers["content-type"] == "text/html; charset=windows-1252"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    text = response.content.decode("windows-1252")
    assert "d’orpailleurs" in text
    assert "Œuvre" in text


def test_misencoded_feed_declares_utf8_but_holds_windows_1252(
    site: DemoSite, client: httpx.Client
) -> None:
    response = client.get(site.url("ndjamena-presse", "/rss/une.xml"))
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    parsed = parse_feed(response)
    assert parsed.bozo
    assert any("Réfugiés" in entry.title for entry in parsed.entries)


def test_malformed_feed_is_bozo_but_still_yields_items(
    site: DemoSite, client: httpx.Client
) -> None:
    parsed = parse_feed(client.get(site.url("bamako-matin", "/rss/securite.xml")))
    assert parsed.bozo
    assert len(parsed.entries) >= 2
    assert parsed.entries[0].link.startswith(site.bases["bamako-matin"])


def test_outlet_without_robots_txt_answers_404(site: DemoSite, client: httpx.Client) -> None:
    assert not (SITE_ROOT / "ouaga-hebdo" / "robots.txt").exists()
    assert client.get(site.url("ouaga-hebdo", "/robots.txt")).status_code == 404


def test_robots_txt_disallows_the_private_page_that_the_feed_links_to(
    site: DemoSite, client: httpx.Client
) -> None:
    rules = urllib.robotparser.RobotFileParser()
    rules.parse(client.get(site.url("bamako-matin", "/robots.txt")).text.splitlines())
    links = [e.link for e in parse_feed(client.get(site.url("bamako-matin", "/rss.xml"))).entries]
    assert site.url("bamako-matin", PRIVATE_PAGE) in links
    assert not rules.can_fetch("sahelwatch", site.url("bamako-matin", PRIVATE_PAGE))
    assert rules.can_fetch("sahelwatch", site.url("bamako-matin", KIDAL))


def test_one_outlet_asks_for_a_crawl_delay_of_one_second(
    site: DemoSite, client: httpx.Client
) -> None:
    rules = urllib.robotparser.RobotFileParser()
    rules.parse(client.get(site.url("nouakchott-observateur", "/robots.txt")).text.splitlines())
    assert rules.crawl_delay("sahelwatch") == 1


def test_redirect_override_sends_the_tracking_link_to_the_article(
    site: DemoSite, client: httpx.Client
) -> None:
    response = client.get(site.url("ouaga-hebdo", "/go/4804"))
    assert response.status_code == 301
    target = response.headers["location"]
    assert target.startswith(site.bases["ouaga-hebdo"] + "/2025/03/16/")
    assert client.get(target).status_code == 200


@pytest.mark.parametrize(
    ("slug", "feed"),
    [(o.slug, f) for o in OUTLETS for f in o.feeds],
    ids=[f"{o.slug}{f.path}" for o in OUTLETS for f in o.feeds],
)
def test_every_feed_parses_or_fails_exactly_as_declared(
    site: DemoSite, client: httpx.Client, slug: str, feed: FeedSpec
) -> None:
    response = client.get(site.url(slug, feed.path))
    status = declared_status(slug, feed.path)
    if status is not None:
        assert response.status_code == status
        return
    parsed = parse_feed(response)
    assert response.status_code == 200
    assert parsed.entries
    assert bool(parsed.bozo) == (feed.defect is not None)
    assert parsed.version.startswith(feed.format)


def test_every_link_in_the_feeds_resolves_or_is_a_declared_special_case(
    site: DemoSite,
) -> None:
    items = 0
    with httpx.Client(timeout=5.0, follow_redirects=True) as follow:
        for feed in site.feeds:
            response = follow.get(feed.url)
            if response.status_code != 200:
                continue
            for entry in parse_feed(response).entries:
                items += 1
                link = entry.get("link")
                if not link or not link.startswith("http"):
                    assert link is None or link.split(":")[0] in {"javascript", "mailto"}
                    continue
                slug = next(s for s, base in site.bases.items() if link.startswith(base + "/"))
                path = urlsplit(link).path
                expected = 404 if declared_status(slug, path) == 404 else 200
                assert follow.get(link).status_code == expected, link
    assert items in FEED_ITEMS_RANGE


def test_items_without_usable_links_are_the_documented_ones(
    site: DemoSite, client: httpx.Client
) -> None:
    unusable = []
    for feed in site.feeds:
        response = client.get(feed.url)
        if response.status_code == 200:
            unusable += [e.get("link") for e in parse_feed(response).entries]
    assert [link for link in unusable if not (link or "").startswith("http")] == [
        None,
        "javascript:void(0)",
        "mailto:lecteurs@alger-horizons.dz",
    ]


def test_feed_dates_include_a_missing_one_and_implausible_ones(
    site: DemoSite, client: httpx.Client
) -> None:
    bamako = parse_feed(client.get(site.url("bamako-matin", "/rss.xml")))
    niamey = parse_feed(client.get(site.url("niamey-info", "/atom.xml")))
    ndjamena = parse_feed(client.get(site.url("ndjamena-presse", "/rss/actualites.xml")))
    undated = [e for e in bamako.entries if "published" not in e]
    assert len(undated) == 1
    page = client.get(undated[0].link).text
    assert 'property="article:published_time" content="2025-03-19T08:45:00+00:00"' in page
    assert {e.updated_parsed.tm_year for e in niamey.entries} >= {2025, 2099}
    assert 1970 in {e.published_parsed.tm_year for e in ndjamena.entries}


def test_video_item_carries_its_text_in_content_encoded(
    site: DemoSite, client: httpx.Client
) -> None:
    entries = parse_feed(client.get(site.url("bamako-matin", "/rss.xml"))).entries
    video = next(e for e in entries if "/videos/" in e.link)
    feed_text = video.content[0].value
    page = client.get(video.link).text
    assert len(feed_text.split()) > 100
    assert "Hamadoun" in feed_text
    assert "Hamadoun" not in page


# --------------------------------------------------------------------------- outlets.yaml errors


def test_unknown_override_key_names_the_file_the_entry_and_the_allowed_keys(tmp_path: Path) -> None:
    outlet = {"slug": "demo", "name": "Demo", "overrides": {"/a.html": {"stauts": 500}}}
    root = write_site(tmp_path, [outlet], {})
    with pytest.raises(ConfigError) as caught:
        DemoSite(root)
    message = str(caught.value)
    assert str(root / "outlets.yaml") in message
    assert "outlets[0] (demo).overrides[/a.html]" in message
    assert "stauts" in message
    assert "status" in message


def test_feed_format_other_than_rss_or_atom_is_refused(tmp_path: Path) -> None:
    outlet = {"slug": "demo", "name": "Demo", "feeds": [{"path": "/f.json", "format": "json"}]}
    with pytest.raises(ConfigError, match=r"feeds\[0\].*'format'"):
        DemoSite(write_site(tmp_path, [outlet], {}))


def test_outlet_without_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outlets.yaml").write_text(
        yaml.safe_dump({"outlets": [{"slug": "ghost", "name": "Ghost"}]})
    )
    with pytest.raises(ConfigError, match="has no directory"):
        DemoSite(tmp_path)


def test_placeholder_naming_an_unknown_outlet_answers_500(tmp_path: Path) -> None:
    files = {"demo/page.html": "<a href='{{BASE:nowhere}}/x'>x</a>"}
    root = write_site(tmp_path, [{"slug": "demo", "name": "Demo"}], files)
    with DemoSite(root) as running:
        response = httpx.get(running.url("demo", "/page.html"), timeout=5)
    assert response.status_code == 500
    assert "nowhere" in response.text


# --------------------------------------------------------------------------- sitemaps

SITEMAP_OUTLETS = sorted(o.slug for o in OUTLETS if o.sitemaps)


def sitemap_entries(site: DemoSite, client: httpx.Client, slug: str) -> dict[str, SitemapEntry]:
    """Every page the outlet's sitemaps list, reached the way a crawler does: from robots.txt."""
    robots = site.url(slug, "/robots.txt")
    found: dict[str, SitemapEntry] = {}
    for url in sitemap_urls_from_robots(client.get(robots).text, robots):
        sitemap = parse_sitemap(client.get(url).content, url)
        for ref in sitemap.sitemaps:
            found |= {e.loc: e for e in parse_sitemap(client.get(ref.loc).content, ref.loc).entries}
        if sitemap.kind == "urlset":
            assert all(e.news_publication_date for e in sitemap.entries)
    return found


def test_two_outlets_have_sitemaps_one_of_them_gzipped() -> None:
    assert len(SITEMAP_OUTLETS) == 2
    assert {BY_SLUG[s].sitemaps for s in SITEMAP_OUTLETS} == {"xml", "gzip"}


@pytest.mark.parametrize("slug", SITEMAP_OUTLETS)
def test_robots_txt_names_the_index_and_the_news_sitemap(
    site: DemoSite, client: httpx.Client, slug: str
) -> None:
    robots = site.url(slug, "/robots.txt")
    named = sitemap_urls_from_robots(client.get(robots).text, robots)
    assert named == [site.url(slug, SITEMAP_INDEX_PATH), site.url(slug, NEWS_SITEMAP_PATH)]
    assert parse_sitemap(client.get(named[0]).content, named[0]).kind == "index"
    assert parse_sitemap(client.get(named[1]).content, named[1]).kind == "urlset"


def feed_links(site: DemoSite, client: httpx.Client, slug: str) -> set[str]:
    links = set()
    for feed in (f for f in site.feeds if f.outlet == slug):
        links |= {e.get("link", "").split("?")[0] for e in parse_feed(client.get(feed.url)).entries}
    return links


def manifest_table(heading: str) -> list[list[str]]:
    """The rows of the first table under a `### heading` of demo/site/README.md, cells stripped."""
    section = README.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = lines[start:]
    rows = rows[: next((i for i, line in enumerate(rows) if not line.startswith("|")), len(rows))]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def manifest_archive() -> dict[str, tuple[str, str]]:
    """Sitemap-only archive pages of section 11: path -> (published, lastmod)."""
    section = README.split("### 11.", 1)[1].split("\n### ", 1)[0]
    table = section.split("| path (`/actualites/…`)", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("|")][1:]
    archive = {}
    for row in rows:
        path, published, lastmod = (c.strip().strip("`") for c in row.strip("|").split("|")[:3])
        archive["/actualites/" + path] = (published, published if lastmod == "same" else lastmod)
    return archive


def manifest_backfill() -> tuple[list[str], dict[str, int]]:
    """Section 12: the backfill's command-line window and its expected figures by name."""
    section = README.split("### 12.", 1)[1]
    command = next(line for line in section.splitlines() if "sahelwatch backfill" in line)
    figures = {row[0]: int(row[1]) for row in manifest_table("12. Backfill after the ingest")}
    return command.split(), figures


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


README = (SITE_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("slug", SITEMAP_OUTLETS)
def test_sitemaps_list_every_article_page_the_feeds_link_to_with_its_date(
    site: DemoSite, client: httpx.Client, slug: str
) -> None:
    listed = sitemap_entries(site, client, slug)
    news_url = site.url(slug, NEWS_SITEMAP_PATH)
    news = {e.loc: e for e in parse_sitemap(client.get(news_url).content, news_url).entries}
    assert PRIVATE_PAGE not in {urlsplit(u).path for u in listed}
    assert set(news) == set(listed)
    for url, entry in listed.items():
        page = client.get(url)
        assert page.status_code == 200, url
        assert page_metadata_date(page.text) == news[url].news_publication_date, url
        assert entry.lastmod >= news[url].news_publication_date, url  # edited later, or not
    linked = feed_links(site, client, slug)
    pages = {link for link in linked if link.endswith(".html") and PRIVATE_PAGE not in link}
    assert pages <= set(listed)


def test_the_sitemap_only_archive_is_the_one_the_manifest_lists(
    site: DemoSite, client: httpx.Client
) -> None:
    slug = "bamako-matin"
    listed = sitemap_entries(site, client, slug)
    unlinked = set(listed) - feed_links(site, client, slug)
    archive = manifest_archive()
    assert {urlsplit(u).path for u in unlinked} == set(archive)
    news_url = site.url(slug, NEWS_SITEMAP_PATH)
    news = {e.loc: e for e in parse_sitemap(client.get(news_url).content, news_url).entries}
    for path, (published, lastmod) in archive.items():
        url = site.url(slug, path)
        assert news[url].news_publication_date.date().isoformat() == published, path
        assert listed[url].lastmod.date().isoformat() == lastmod, path
    outlets = manifest_table("11. Sitemaps (for `sahelwatch backfill --site`)")
    counts = {row[0].strip("`"): int(row[1].split(":")[-1].split()[0]) for row in outlets}
    for outlet in SITEMAP_OUTLETS:
        assert counts[outlet] == len(sitemap_entries(site, client, outlet)), outlet


def test_the_backfill_figures_of_the_manifest_follow_from_the_served_sitemaps(
    site: DemoSite, client: httpx.Client
) -> None:
    """Replays the backfill's sitemap rules (extractors.date_window) over the served sitemaps."""
    command, expected = manifest_backfill()
    window = parse_window(option(command, "--since"), option(command, "--until"))
    slug = "bamako-matin"
    robots = site.url(slug, "/robots.txt")
    queue = sitemap_urls_from_robots(client.get(robots).text, robots)
    listed, kept, rows_ruled_out = set(), set(), 0
    while queue:
        url = queue.pop(0)
        sitemap = parse_sitemap(client.get(url).content, url)
        for ref in sitemap.sitemaps:
            if child_sitemap_is_outside(window, ref):
                rows_ruled_out += 1
                listed |= {
                    e.loc for e in parse_sitemap(client.get(ref.loc).content, ref.loc).entries
                }
            else:
                queue.append(ref.loc)
        for entry in sitemap.entries:
            listed.add(entry.loc)
            if entry_is_outside(window, entry):
                rows_ruled_out += 1
            else:
                kept.add(entry.loc)
    known = {link for link in feed_links(site, client, slug) if link in kept}
    fetched = kept - known
    dated_outside = {
        u for u in fetched if not window.contains(page_metadata_date(client.get(u).text))
    }
    figures = {
        "pages listed in the sitemaps (distinct URLs)": len(listed),
        "pages ruled out by sitemap dates, never fetched": len(listed - kept),
        "sitemap entries and child sitemaps ruled out (`outside window by source`)": rows_ruled_out,
        "pages found (`backfill pages found`)": len(kept),
        "already stored by the ingest (`already known`)": len(known),
        "pages fetched (`pages fetched`)": len(fetched),
        "documents stored (`documents stored`)": len(fetched - dated_outside),
        "fetched but dated outside the window (`skipped: outside_window`)": len(dated_outside),
    }
    assert figures == expected
    assert slug in option(command, "--site")


def test_the_gzip_sitemap_is_served_as_a_gzip_file(site: DemoSite, client: httpx.Client) -> None:
    slug = next(s for s in SITEMAP_OUTLETS if BY_SLUG[s].sitemaps == "gzip")
    index_url = site.url(slug, SITEMAP_INDEX_PATH)
    child = parse_sitemap(client.get(index_url).content, index_url).sitemaps[0].loc
    response = client.get(child)
    assert child.endswith(".xml.gz")
    assert response.headers["content-type"] == GZIP_CONTENT_TYPE
    assert "content-encoding" not in response.headers
    assert response.content[:2] == b"\x1f\x8b"


def test_outlets_without_sitemaps_answer_404_for_them(site: DemoSite, client: httpx.Client) -> None:
    others = [o.slug for o in OUTLETS if not o.sitemaps]
    assert others
    for slug in others:
        assert client.get(site.url(slug, SITEMAP_INDEX_PATH)).status_code == 404


def test_sitemap_format_other_than_xml_or_gzip_is_refused(tmp_path: Path) -> None:
    outlet = {"slug": "demo", "name": "Demo", "sitemaps": "zip"}
    with pytest.raises(ConfigError, match="'sitemaps' must be one of"):
        DemoSite(write_site(tmp_path, [outlet], {}))
