"""Every item that does not become a document is a `skipped` row of its own, and the run's report
counts exactly those rows: through the real flow, over odd feeds served on 127.0.0.1.

The feeds are written here from a manifest (FEEDS): each item says what it should end as, and
the expected figures are counted from the manifest, not typed.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from extractors import page_retry
from flows.ingest import ingest_feeds

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ARTICLE = (PAGES / "article_full.html").read_bytes()
ENGLISH = (PAGES / "english.html").read_bytes()
FAST = {
    "min_host_delay": 0.0,
    "backoff_base": 0.01,
    "max_retries": 1,
    "read_timeout": 2.0,
    "total_timeout": 5.0,
}


@dataclass(frozen=True)
class Item:
    """One feed item: its link (a path on the server, a raw link, or None), guid and fate."""

    link: str | None
    expect: str  # a skip reason, or "stored"
    guid: str | None = None
    title: str = "Titre"


SHARED = "/shared-english.html"  # linked from several feeds: each feed gets its own row
FEEDS: dict[str, tuple[str, list[Item]]] = {
    "/rss.xml": (
        "rss",
        [
            Item("/article.html", "stored"),
            Item(SHARED, "not_french"),
            Item(None, "no_link", guid="sans-lien-1"),
            Item(None, "no_link"),  # no guid either: known by its position
            Item(None, "no_link", guid="pareil"),  # one guid for two items: by position
            Item(None, "no_link", guid="pareil"),
            Item("mailto:redaction@example.org", "bad_link"),
            Item("javascript:void(0)", "bad_link"),
            Item("javascript:void(0)", "bad_link"),  # the same bad link on another item
            Item("/gone.html", "http_error"),
            Item("/reset.html", "fetch_failed"),
        ],
    ),
    "/atom.xml": (
        "atom",
        [
            Item(SHARED, "not_french"),
            Item(None, "no_link"),  # no link and no id
            # feedparser takes an Atom id that looks like a URI for the link: a bad link.
            Item(None, "bad_link", guid="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"),
            Item("ftp://example.org/fichier.txt", "bad_link"),
        ],
    ),
    "/rdf.xml": ("rdf", [Item(SHARED, "not_french"), Item(None, "no_link")]),
    # The last item's description is never closed: feedparser calls the feed malformed and
    # still yields every item.
    "/broken.xml": ("broken", [Item(SHARED, "not_french"), Item(None, "no_link", guid="cassé")]),
}


def feed_bytes(kind: str, items: list[Item], url) -> bytes:
    def link(i: Item) -> str:
        return "" if i.link is None else (url(i.link) if i.link.startswith("/") else i.link)

    if kind == "atom":
        entries = "".join(
            f"<entry><title>{i.title}</title>"
            + (f'<link href="{link(i)}"/>' if i.link else "")
            + (f"<id>{i.guid}</id>" if i.guid else "")
            + "</entry>"
            for i in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Atom</title>{entries}</feed>"
        ).encode()
    if kind == "rdf":
        entries = "".join(
            f"<item><title>{i.title}</title>"
            + (f"<link>{link(i)}</link>" if i.link else "")
            + "</item>"
            for i in items
        )
        return (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns="http://purl.org/rss/1.0/"><channel><title>RDF</title></channel>'
            f"{entries}</rdf:RDF>"
        ).encode()
    entries = "".join(
        f"<item><title>{i.title}</title>"
        + (f"<link>{link(i)}</link>" if i.link else "")
        + (f'<guid isPermaLink="false">{i.guid}</guid>' if i.guid else "")
        + ("<description>pas fermé" if kind == "broken" and n == len(items) else "")
        + "</item>"
        for n, i in enumerate(items, 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Flux</title>'
        f"{entries}</channel></rss>"
    ).encode()


def serve(server) -> list[str]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    server.route("/article.html", body=ARTICLE, headers=html)
    server.route(SHARED, body=ENGLISH, headers=html)
    server.route("/gone.html", status=410)
    server.route("/reset.html", drop=True)
    for path, (kind, items) in FEEDS.items():
        body = feed_bytes(kind, items, server.url)
        server.route(path, body=body, headers={"Content-Type": "application/xml"})
    return [server.url(path) for path in FEEDS]


def run(tmp_path: Path, feeds: list[str], **kw) -> dict:
    config = {
        "network": FAST,
        "feeds": [{"name": f"Flux {n}", "url": u} for n, u in enumerate(feeds)],
    }
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump(config), "utf-8")
    db = str(tmp_path / "db.duckdb")
    return asyncio.run(ingest_feeds(feeds=str(tmp_path / "feeds.yaml"), db=db, **kw))


def rows(tmp_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def skip_rows_by_reason(tmp_path: Path, run_id: str) -> dict[str, int]:
    found = rows(
        tmp_path, "SELECT reason, count(*) FROM skipped WHERE run_id = ? GROUP BY 1", [run_id]
    )
    return dict(found)


def assert_report_equals_rows(tmp_path: Path, result: dict) -> None:
    (total,) = rows(tmp_path, "SELECT count(*) FROM skipped WHERE run_id = ?", [result["run_id"]])[
        0
    ]
    assert result["skipped"] == total
    assert result["skipped_by_reason"] == skip_rows_by_reason(tmp_path, result["run_id"])
    stored = rows(tmp_path, "SELECT counts FROM runs WHERE run_id = ?", [result["run_id"]])
    assert json.loads(stored[0][0])["skipped"] == total


def test_every_skipped_item_of_odd_feeds_has_its_own_row_and_the_report_counts_them(
    prefect_api, http_server, tmp_path
):
    urls = serve(http_server)
    expected = Counter(i.expect for _, items in FEEDS.values() for i in items)
    expected.pop("stored")

    result = run(tmp_path, urls)

    assert_report_equals_rows(tmp_path, result)
    assert result["skipped_by_reason"] == dict(expected)
    assert result["stored"] == 1
    # Each feed's link-less items are rows naming that feed, one per item.
    per_feed = dict(
        rows(tmp_path, "SELECT feed_url, count(*) FROM skipped WHERE reason = 'no_link' GROUP BY 1")
    )
    assert per_feed == {
        http_server.url(path): n
        for path, (_, items) in FEEDS.items()
        if (n := sum(i.expect == "no_link" for i in items))
    }
    shared = rows(
        tmp_path,
        "SELECT DISTINCT discovered_by FROM skipped WHERE url = ?",
        [http_server.url(SHARED)],
    )
    assert {by for (by,) in shared} == {
        f"feed:{http_server.url(path)}"
        for path, (_, items) in FEEDS.items()
        if any(i.link == SHARED for i in items)
    }


def test_a_rerun_adds_no_rows_for_what_it_already_recorded_and_still_matches_its_report(
    prefect_api, http_server, tmp_path
):
    urls = serve(http_server)
    first = run(tmp_path, urls)
    http_server.clear_log()

    again = run(tmp_path, urls, feed_urls=urls)  # every feed read again, nothing new in them

    assert_report_equals_rows(tmp_path, again)
    assert again["skipped"] == 0 and again["stored"] == 0
    assert again["retry_later"] == 1  # the page that failed waits out its back-off
    assert not http_server.requests_to("/reset.html")
    assert not http_server.requests_to(SHARED)
    (total,) = rows(tmp_path, "SELECT count(*) FROM skipped")[0]
    assert total == first["skipped"]


def test_a_page_that_always_fails_backs_off_then_is_given_up(prefect_api, http_server, tmp_path):
    http_server.route("/reset.html", drop=True)
    body = feed_bytes("rss", [Item("/reset.html", "fetch_failed")], http_server.url)
    http_server.route("/rss.xml", body=body, headers={"Content-Type": "application/xml"})
    feed = [http_server.url("/rss.xml")]

    first = run(tmp_path, feed, feed_urls=feed)
    waiting = run(tmp_path, feed, feed_urls=feed)  # before the back-off ends: not fetched
    assert (first["skipped_by_reason"], waiting["skipped"], waiting["retry_later"]) == (
        {"fetch_failed": 1},
        0,
        1,
    )
    assert http_server.requests_to("/reset.html")
    # `force` ignores back-offs: each forced run is one more failed attempt, the last final.
    results = [run(tmp_path, feed, force=True) for _ in range(page_retry.MAX_FETCH_ATTEMPTS - 1)]
    assert [r["skipped_by_reason"] for r in results] == [{"fetch_failed": 1}] * (
        page_retry.MAX_FETCH_ATTEMPTS - 2
    ) + [{"gave_up": 1}]
    for result in [first, waiting, *results]:
        assert_report_equals_rows(tmp_path, result)
    http_server.clear_log()

    after = run(tmp_path, feed, force=True)

    assert not http_server.requests_to("/reset.html")
    assert after["skipped"] == 0 and after["retry_later"] == 0
