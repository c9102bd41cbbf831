"""Hostile and broken servers, through the real `sahelwatch ingest`: each ends with a `skipped`
row or a feed failure that says why, and the good feed beside them is stored all the same.

One run polls a good feed, a feed whose pages each misbehave in one way, and feeds that
misbehave themselves, all on 127.0.0.1 (tests/support/http_server.py, and tests/support/
raw_server.py for what no honest HTTP server sends). Short timeouts in feeds.yaml keep each
fault's cost bounded; the run itself is given a hard limit so a hang fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from tests.faults.report import FaultResult, record
from tests.support.http_server import HttpTestServer, Response
from tests.support.process_tree import PeakRss
from tests.support.raw_server import RawServer
from tests.support.store_snapshot import connect

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).with_name("sahelwatch")
PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ARTICLE = (PAGES / "article_full.html").read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}
NETWORK = {
    "allow_private_hosts": ["127.0.0.1"],
    "min_host_delay": 0.0,
    "max_retries": 0,
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "total_timeout": 4.0,
    "max_redirects": 5,
    "max_page_bytes": 2 * 2**20,
    "max_feed_bytes": 16 * 2**20,  # the 100,000-item feed (8 MiB) fits, the 50 MB one does not
}
# The run's hard limit: every fault above costs at most a few timeouts of 4 s.
RUN_LIMIT_S = 240
FIFTY_MB = 50 * 2**20
BOMB_INFLATED = 512 * 2**20  # what the gzip bomb inflates to; about 0.5 MiB on the wire
HUGE_FEED_ITEMS = 100_000
DRIP = (1, 2.0)  # a byte every 2 s
ACCENTED = "Bamako, capitale malienne, a accueilli une réunion régionale où les délégués"


def rss(*links: str, marker: str = "") -> bytes:
    items = "".join(
        f"<item><title>Article {n}{marker}</title><link>{u}</link></item>"
        for n, u in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    ).encode()


def article(n: int, charset: str = "utf-8", declared: str | None = "utf-8") -> bytes:
    """The fixture article, made distinct by `n`, in `charset`, declaring `declared` (or none)."""
    text = ARTICLE.decode("utf-8").replace("<title>", f"<title>{n} ")
    text = text.replace("</h1>", f"</h1><p>{ACCENTED}, réunion numéro {n}.</p>", 1)
    meta = f'<meta charset="{declared}">' if declared else ""
    text = text.replace('<meta charset="utf-8">', meta).replace("<meta charset=utf-8>", meta)
    return text.encode(charset, errors="xmlcharrefreplace")


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes gzip-compressed, without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * 2**20
    return b"".join(packer.compress(chunk) for _ in range(size // len(chunk))) + packer.flush()


def huge_feed(link: str) -> bytes:
    """100,000 items naming one page: parsed whole, fetched once."""
    return rss(*([link] * HUGE_FEED_ITEMS))


BOMB = gzip_bomb(BOMB_INFLATED)  # made once (2-3 s), served as a page and as a feed

# Page faults: path -> (how the route misbehaves, the skip reasons that say why).
PAGE_FAULTS = {
    "/p/drip.html": (
        dict(body=b"<html>" + b"x" * 100, headers=HTML, trickle=DRIP),
        {"fetch_failed"},
    ),
    "/p/hang.html": (dict(body=ARTICLE, headers=HTML, delay=30.0), {"fetch_failed"}),
    "/p/reset.html": (dict(drop=True), {"fetch_failed"}),
    "/p/error.html": (
        dict(
            body=b"<html><body><h1>Erreur 500</h1><p>Service indisponible.</p></body></html>",
            headers=HTML,
        ),
        {"error_page"},
    ),
    "/p/loop.html": (dict(status=302, redirect_to="/p/loop.html"), {"fetch_failed", "http_error"}),
    "/p/metadata.html": (
        dict(status=302, redirect_to="http://169.254.169.254/latest/meta-data/"),
        {"blocked_address"},
    ),
    "/p/fifty.html": (dict(body=b"<p>" + b"a" * FIFTY_MB, headers=HTML), {"too_large"}),
    "/p/bomb.html": (
        dict(body=BOMB, headers={**HTML, "Content-Encoding": "gzip"}),
        {"too_large"},
    ),
}
# Feed faults: path -> how the feed misbehaves; each must end as a failed poll with a reason.
FEED_FAULTS = {
    "/f/drip.xml": dict(body=rss("/x") * 10, trickle=DRIP),
    "/f/hang.xml": dict(body=rss("/x"), delay=30.0),
    "/f/reset.xml": dict(drop=True),
    "/f/error.xml": dict(body=b"<html><body><h1>502 Bad Gateway</h1></body></html>", headers=HTML),
    "/f/loop.xml": dict(status=301, redirect_to="/f/loop.xml"),
    "/f/metadata.xml": dict(status=302, redirect_to="http://169.254.169.254/latest/meta-data/"),
    "/f/fifty.xml": dict(body=b"<rss>" + b"a" * FIFTY_MB),
    "/f/bomb.xml": dict(body=BOMB, headers={"Content-Encoding": "gzip"}),
}
BROKEN_CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n10\r\n<html><body><p>Le\r\nZZ\r\nnot a chunk"
)


@pytest.fixture(scope="module")
def hostile_run(api_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "store.duckdb"
    with HttpTestServer() as server, RawServer(BROKEN_CHUNKED) as chunked:
        good = [server.url(f"/good/{n}.html") for n in range(2)]
        for n, url in enumerate(good):
            server.route(url.removeprefix(server.base_url), body=article(n), headers=HTML)
        server.route("/good.xml", body=rss(*good))
        # Charsets: Latin-1 bytes declared UTF-8 in the header, and no charset anywhere.
        server.route(
            "/cs/wrong.html",
            body=article(10, "latin-1", None),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        server.route(
            "/cs/missing.html",
            body=article(11, "utf-8", None),
            headers={"Content-Type": "text/html"},
        )
        for path, (route, _) in PAGE_FAULTS.items():
            server.route(path, **route)
        pages = [server.url(p) for p in (*PAGE_FAULTS, "/cs/wrong.html", "/cs/missing.html")]
        pages.append(chunked.url("/p/chunked.html"))
        server.route("/pages.xml", body=rss(*pages))
        for path, route in FEED_FAULTS.items():
            server.route(path, **route)
        server.route("/f/many.xml", body=huge_feed(server.url("/many.html")))
        server.route("/many.html", body=article(20), headers=HTML)
        changing = [server.url(f"/good/{n}.html") for n in range(2)]
        server.route(
            "/f/changing.xml",
            responses=[Response(body=rss(*changing, marker=f" v{v}")) for v in range(50)],
        )
        feeds = ["/good.xml", "/pages.xml", *FEED_FAULTS, "/f/many.xml", "/f/changing.xml"]
        config = {
            "network": NETWORK,
            "feeds": [{"name": p.strip("/"), "url": server.url(p)} for p in feeds],
        }
        feeds_file = tmp / "feeds.yaml"
        feeds_file.write_text(yaml.safe_dump(config), "utf-8")
        command = [
            str(EXE),
            "ingest",
            "--db",
            str(db),
            "--feeds",
            str(feeds_file),
            "--no-progress",
        ]
        with PeakRss() as peak:
            result = subprocess.run(
                command, env=api_env, capture_output=True, text=True, timeout=RUN_LIMIT_S
            )

        yield {
            "db": db,
            "result": result,
            "peak": peak.bytes,
            "base": server.base_url,
            "chunked": chunked.url("/p/chunked.html"),
            "server_url": server.url,
        }


def rows(db: Path, sql: str, *params) -> list[tuple]:
    con = connect(db)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def skip_reasons(hostile_run, url: str) -> set[str]:
    return {r for (r,) in rows(hostile_run["db"], "SELECT reason FROM skipped WHERE url = ?", url)}


def test_the_run_ends_and_the_good_feed_is_stored(hostile_run):
    result = hostile_run["result"]
    assert result.returncode == 0, result.stderr
    good = rows(
        hostile_run["db"],
        "SELECT count(*) FROM documents WHERE url LIKE ?",
        hostile_run["server_url"]("/good/%"),
    )[0][0]
    record(
        FaultResult(
            "hostile servers: one run, 20 faults",
            1,
            2 - good,
            0,
            hostile_run["peak"],
            f"exit {result.returncode}, good feed stored",
        )
    )
    assert good == 2


@pytest.mark.parametrize(
    "path",
    list(PAGE_FAULTS),
)
def test_a_hostile_page_is_skipped_with_a_reason(hostile_run, path):
    url = hostile_run["server_url"](path)
    reasons = skip_reasons(hostile_run, url)
    record(
        FaultResult(
            f"hostile page {path}",
            1,
            0,
            0,
            hostile_run["peak"],
            ", ".join(sorted(reasons)) or "NO SKIPPED ROW",
        )
    )
    assert reasons, f"no skipped row for {url}"
    assert reasons <= PAGE_FAULTS[path][1], reasons


def test_broken_chunked_encoding_is_skipped_with_a_reason(hostile_run):
    reasons = skip_reasons(hostile_run, hostile_run["chunked"])
    record(
        FaultResult(
            "hostile page: broken chunked encoding",
            1,
            0,
            0,
            hostile_run["peak"],
            ", ".join(sorted(reasons)) or "NO SKIPPED ROW",
        )
    )
    assert reasons == {"fetch_failed"}


@pytest.mark.parametrize("path", ["/cs/wrong.html", "/cs/missing.html"])
def test_a_page_with_a_wrong_or_missing_charset_keeps_its_accents(hostile_run, path):
    texts = rows(
        hostile_run["db"],
        "SELECT text FROM documents WHERE url = ?",
        hostile_run["server_url"](path),
    )
    record(
        FaultResult(
            f"charset {path}",
            1,
            1 - len(texts),
            0,
            hostile_run["peak"],
            "stored with accents" if texts and ACCENTED in texts[0][0] else "LOST",
        )
    )
    assert len(texts) == 1
    assert ACCENTED in texts[0][0]


@pytest.mark.parametrize("path", list(FEED_FAULTS))
def test_a_hostile_feed_fails_saying_why_and_the_run_goes_on(hostile_run, path):
    url = hostile_run["server_url"](path)
    state = rows(
        hostile_run["db"], "SELECT last_status, last_error FROM feed_state WHERE feed_url = ?", url
    )
    outcome = f"{state[0][0]}: {(state[0][1] or '')[:40]}" if state else "NO FEED STATE"
    record(FaultResult(f"hostile feed {path}", 1, 0, 0, hostile_run["peak"], outcome))
    assert state and state[0][0] == "failed", state
    assert state[0][1], "the failure says why"


def test_a_feed_of_100000_items_is_parsed_whole_and_its_page_stored_once(hostile_run):
    db = hostile_run["db"]
    feed = hostile_run["server_url"]("/f/many.xml")
    state = rows(db, "SELECT last_status, last_error FROM feed_state WHERE feed_url = ?", feed)
    page = hostile_run["server_url"]("/many.html")
    stored = rows(db, "SELECT count(*) FROM documents WHERE url = ?", page)[0][0]
    outcome = f"{state[0][0]}, page stored {stored}x" if state else "NO FEED STATE"
    record(
        FaultResult(
            "feed of 100,000 items",
            1,
            int(stored == 0),
            max(0, stored - 1),
            hostile_run["peak"],
            outcome,
        )
    )
    assert state and state[0][0] == "ok", state
    assert stored == 1


def test_a_feed_that_changes_at_every_request_is_stored_once(hostile_run):
    db = hostile_run["db"]
    state = rows(
        db,
        "SELECT last_status FROM feed_state WHERE feed_url = ?",
        hostile_run["server_url"]("/f/changing.xml"),
    )
    doubled = rows(db, "SELECT count(*) - count(DISTINCT canonical_url) FROM documents")[0][0]
    record(
        FaultResult(
            "feed that changes at every request",
            1,
            0,
            doubled,
            hostile_run["peak"],
            state[0][0] if state else "no state",
        )
    )
    assert state == [("ok",)]
    assert doubled == 0


def test_a_feed_on_a_name_that_does_not_exist_fails_at_once_without_retries(api_env, tmp_path):
    config = {
        "network": {**NETWORK, "max_retries": 3, "backoff_base": 5.0},
        "feeds": [{"name": "nowhere", "url": "http://no-such-host.invalid/rss.xml"}],
    }
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump(config), "utf-8")
    db = tmp_path / "store.duckdb"
    # Retried three times with these back-offs (5 + 10 + 20 s), the run would outlast the limit.
    result = subprocess.run(
        [str(EXE), "ingest", "--db", str(db), "--feeds", str(feeds_file), "--no-progress"],
        env=api_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    ((status, error),) = rows(db, "SELECT last_status, last_error FROM feed_state")
    assert status == "failed" and "no-such-host.invalid" in error
