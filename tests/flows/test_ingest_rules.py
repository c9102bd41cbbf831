"""Ingest rules one at a time, through the real flow against a programmable local server.

Every fetched item ends in `documents` or in `skipped` with its reason; bad feeds cost a line in
the report, never the run; the command line turns configuration errors into exit 1.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.cli import main
from flows.extraction_pool import ExtractionPool
from flows.ingest import ingest_feeds

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ARTICLE = (PAGES / "article_full.html").read_bytes()
FAST = {
    "min_host_delay": 0.0,
    "backoff_base": 0.01,
    "max_retries": 1,
    "read_timeout": 2.0,
    "total_timeout": 5.0,
}


def rss(*items: str) -> bytes:
    body = "".join(f"<item>{i}</item>" for i in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test</title>{body}</channel></rss>"
    ).encode()


def item(title: str, link: str, summary: str = "") -> str:
    return f"<title>{title}</title><link>{link}</link><description>{summary}</description>"


def write_config(path: Path, feeds: list[str], **network) -> str:
    config = {
        "network": {**FAST, **network},
        "feeds": [{"name": f"Feed {i}", "url": u} for i, u in enumerate(feeds)],
    }
    path.write_text(yaml.safe_dump(config), "utf-8")
    return str(path)


def run(tmp_path: Path, feeds: list[str], **kw) -> dict:
    network = kw.pop("network", {})
    config = write_config(tmp_path / "feeds.yaml", feeds, **network)
    return asyncio.run(ingest_feeds(feeds=config, db=str(tmp_path / "db.duckdb"), **kw))


def skipped(tmp_path: Path) -> dict[str, str]:
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT url, reason FROM skipped").fetchall()
    finally:
        con.close()
    return {url.rsplit("/", 1)[-1]: reason for url, reason in rows}


def test_each_unusable_page_becomes_a_skip_with_its_reason(prefect_api, http_server, tmp_path):
    s = http_server
    s.route("/ok.html", body=ARTICLE, headers={"Content-Type": "text/html; charset=utf-8"})
    s.route("/big.html", body=ARTICLE * 40, headers={"Content-Type": "text/html"})
    s.route("/reset.html", drop=True)
    s.route("/gone.html", status=410)
    s.route("/doc.pdf", body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    s.route(
        "/empty.html", body=b"<html><body></body></html>", headers={"Content-Type": "text/html"}
    )
    other_host = s.url("/elsewhere.html").replace("127.0.0.1", "127.0.0.2")
    s.route(
        "/rss.xml",
        body=rss(
            item("Article", s.url("/ok.html")),
            item("Trop gros", s.url("/big.html")),
            item("Coupé", s.url("/reset.html")),
            item("Disparu", s.url("/gone.html")),
            item("PDF", s.url("/doc.pdf")),
            item("Vide", s.url("/empty.html")),
            item("Ailleurs", other_host),
        ),
        headers={"Content-Type": "application/rss+xml"},
    )

    result = run(tmp_path, [s.url("/rss.xml")], network={"max_page_bytes": 50_000})

    assert result["stored"] == 1
    assert skipped(tmp_path) == {
        "big.html": "too_large",
        "reset.html": "fetch_failed",
        "gone.html": "http_error",
        "doc.pdf": "not_html",
        "empty.html": "no_text",
        "elsewhere.html": "blocked_address",
    }
    assert not s.requests_to("/elsewhere.html")
    assert result["items_seen"] == result["stored"] + result["skipped"]


def test_failing_feed_is_reported_backs_off_and_the_others_still_run(
    prefect_api, http_server, tmp_path
):
    s = http_server
    s.route("/ok.html", body=ARTICLE, headers={"Content-Type": "text/html"})
    s.route(
        "/good.xml",
        body=rss(item("Article", s.url("/ok.html"))),
        headers={"Content-Type": "application/rss+xml"},
    )
    s.route("/down.xml", status=503)
    s.route(
        "/html.xml",
        body=b"<html><body>Pas un flux</body></html>",
        headers={"Content-Type": "text/html"},
    )

    result = run(tmp_path, [s.url("/good.xml"), s.url("/down.xml"), s.url("/html.xml")])

    assert (result["stored"], result["failed"]) == (1, 2)
    assert "HTTP 503" in result["report"] and "not a feed" in result["report"]
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    state = dict(con.execute("SELECT feed_url, consecutive_failures FROM feed_state").fetchall())
    con.close()
    assert state == {s.url("/good.xml"): 0, s.url("/down.xml"): 1, s.url("/html.xml"): 1}
    again = run(tmp_path, [s.url("/good.xml"), s.url("/down.xml"), s.url("/html.xml")])
    assert again["not_due"] == 3 and again["polled"] == 0


def test_limit_caps_new_articles_per_feed_and_the_rest_come_next_time(
    prefect_api, http_server, tmp_path
):
    s = http_server
    texts = ["Niamey", "Bamako", "Ouagadougou"]
    for town in texts:
        page = ARTICLE.replace("Ménaka".encode(), town.encode())
        s.route(f"/{town}.html", body=page, headers={"Content-Type": "text/html"})
    s.route(
        "/rss.xml",
        body=rss(*(item(t, s.url(f"/{t}.html")) for t in texts)),
        headers={"Content-Type": "application/rss+xml"},
    )

    first = run(tmp_path, [s.url("/rss.xml")], limit=2)
    second = run(tmp_path, [s.url("/rss.xml")], limit=2, force=True)

    assert (first["stored"], second["stored"]) == (2, 1)


def test_server_ignoring_validators_costs_no_parsing_when_the_body_is_unchanged(
    prefect_api, http_server, tmp_path
):
    s = http_server
    s.route("/ok.html", body=ARTICLE, headers={"Content-Type": "text/html"})
    s.route(
        "/rss.xml",
        body=rss(item("Article", s.url("/ok.html"))),
        headers={"Content-Type": "application/rss+xml"},
    )  # no ETag, no Last-Modified

    run(tmp_path, [s.url("/rss.xml")])
    again = run(tmp_path, [s.url("/rss.xml")], force=True)

    assert again["unchanged"] == 1 and again["items_seen"] == 0


def test_bad_feed_config_exits_1_with_a_one_line_message(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - {name: Sans adresse}\n", "utf-8")
    code = main(["ingest", "--feeds", str(config), "--db", str(tmp_path / "db.duckdb")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (
        f"sahelwatch: error: {config}: feeds[0] (Sans adresse): 'url' must be "
        "an http(s) address, got None"
    )


@pytest.mark.parametrize("missing", ["feeds.yaml", "watchlist.yaml"])
def test_missing_config_file_names_the_file(tmp_path, capsys, missing):
    args = ["ingest", "--db", str(tmp_path / "db.duckdb")]
    args += ["--feeds" if missing == "feeds.yaml" else "--watchlist", str(tmp_path / missing)]
    assert main(args) == 1
    assert f"{tmp_path / missing}: file not found" in capsys.readouterr().err


def test_page_that_failed_for_a_retryable_reason_is_fetched_again_next_run(
    prefect_api, http_server, tmp_path
):
    from tests.support.http_server import Response

    s = http_server
    s.route(
        "/flaky.html",
        responses=[
            Response(status=503),
            Response(status=503),
            Response(body=ARTICLE, headers={"Content-Type": "text/html"}),
        ],
    )
    s.route(
        "/rss.xml",
        body=rss(item("Article", s.url("/flaky.html"))),
        etag='"feed-v1"',
        headers={"Content-Type": "application/rss+xml"},
    )

    first = run(tmp_path, [s.url("/rss.xml")])
    second = run(tmp_path, [s.url("/rss.xml")], force=True)

    assert (first["stored"], first["skipped_by_reason"]) == (0, {"fetch_failed": 1})
    assert second["stored"] == 1


def test_a_bug_in_one_feed_fails_that_feed_only(prefect_api, http_server, tmp_path, monkeypatch):
    s = http_server
    s.route("/ok.html", body=ARTICLE, headers={"Content-Type": "text/html"})
    for name in ("good", "cursed"):
        s.route(
            f"/{name}.xml",
            body=rss(item("Article", s.url("/ok.html"))),
            headers={"Content-Type": "application/rss+xml"},
        )
    real_parse = ExtractionPool.parse_feed

    async def parse_with_a_bug(pool, body, url, content_type=None):
        if url.endswith("/cursed.xml"):
            raise RuntimeError("a bug in feed parsing")
        return await real_parse(pool, body, url, content_type)

    monkeypatch.setattr(ExtractionPool, "parse_feed", parse_with_a_bug)
    result = run(tmp_path, [s.url("/good.xml"), s.url("/cursed.xml")])

    assert (result["stored"], result["failed"]) == (1, 1)
    assert "RuntimeError: a bug in feed parsing" in result["report"]


def test_daily_unconditional_fetch_catches_a_server_that_wrongly_answers_304(
    prefect_api, http_server, tmp_path
):
    s = http_server
    for town in ("Gao", "Kayes"):
        page = ARTICLE.replace("Ménaka".encode(), town.encode())
        s.route(f"/{town}.html", body=page, headers={"Content-Type": "text/html"})
    rss_headers = {"Content-Type": "application/rss+xml"}
    s.route("/rss.xml", body=rss(item("Gao", s.url("/Gao.html"))), etag='"v1"', headers=rss_headers)
    run(tmp_path, [s.url("/rss.xml")])
    # The feed gains an item but the server keeps its ETag, so it answers 304: it lies.
    s.route(
        "/rss.xml",
        body=rss(item("Gao", s.url("/Gao.html")), item("Kayes", s.url("/Kayes.html"))),
        etag='"v1"',
        headers=rss_headers,
    )

    fooled = run(tmp_path, [s.url("/rss.xml")], force=True)
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    con.execute("UPDATE feed_state SET last_unconditional_at = now() - INTERVAL 2 DAY")
    con.close()
    caught = run(tmp_path, [s.url("/rss.xml")], force=True)

    assert (fooled["unchanged"], fooled["stored"]) == (1, 0)
    assert (caught["changed"], caught["stored"]) == (1, 1)
    assert "If-None-Match" not in {k.title() for k in s.requests_to("/rss.xml")[-1].headers}
