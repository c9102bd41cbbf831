"""The real `ingest_feeds` flow over the bundled sample site: what a run stores, skips and reports.

One module-scoped pair of runs (a first run, then a forced re-run with nothing new) against real
HTTP servers on 127.0.0.1, a real DuckDB file and Prefect's temporary API; each test reads one
fact of the result. The expected figures are those of demo/site/README.md.
"""

from __future__ import annotations

import asyncio
import json

import duckdb
import pytest

from demo.site_server import DemoSite
from tests.support.sample_site import write_feeds

TABLES = ("documents", "document_urls", "skipped", "mentions", "feed_state")


def counts(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (*TABLES, "runs")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def ingested(prefect_api, tmp_path_factory):
    from flows.ingest import ingest_feeds

    tmp = tmp_path_factory.mktemp("ingest")
    db, feeds = tmp / "store.duckdb", tmp / "feeds.yaml"
    with DemoSite() as site:
        write_feeds(site, feeds)
        first = asyncio.run(ingest_feeds(feeds=str(feeds), db=str(db)))
        after_first = counts(db)
        requests_first = list(site.requests)
        second = asyncio.run(ingest_feeds(feeds=str(feeds), db=str(db), force=True))
        after_second = counts(db)
        requests_second = site.requests[len(requests_first) :]
        bases = dict(site.bases)
    con = duckdb.connect(str(db), read_only=True)
    yield {
        "first": first,
        "second": second,
        "after_first": after_first,
        "after_second": after_second,
        "con": con,
        "bases": bases,
        "requests_first": requests_first,
        "requests_second": requests_second,
    }
    con.close()


def rows(ingested, sql, *params):
    return ingested["con"].execute(sql, list(params)).fetchall()


def test_every_french_article_is_stored_once(ingested):
    assert rows(ingested, "SELECT count(*) FROM documents WHERE origin = 'feed'") == [(34,)]
    assert rows(ingested, "SELECT DISTINCT language FROM documents") == [("fr",)]
    per_source = dict(
        rows(
            ingested, "SELECT source, count(*) FROM documents WHERE origin = 'feed' GROUP BY source"
        )
    )
    assert per_source == {
        "Agence Sahel Presse": 5,
        "Bamako Matin": 8,
        "Niamey Info": 6,
        "L'Hebdo de Ouaga": 5,
        "N'Djamena Presse": 4,
        "L'Observateur de Nouakchott": 3,
        "Alger Horizons": 3,
    }


def test_every_item_that_was_not_stored_has_a_reason(ingested):
    reasons = dict(rows(ingested, "SELECT reason, count(*) FROM skipped GROUP BY reason"))
    assert reasons == {
        "not_french": 3,
        "robots_disallowed": 1,
        "http_error": 1,
        "no_link": 1,
        "bad_link": 2,
    }


def test_non_french_pages_are_skipped_with_the_detected_language(ingested):
    details = sorted(
        d for (d,) in rows(ingested, "SELECT detail FROM skipped WHERE reason = 'not_french'")
    )
    assert [d.split()[1] for d in details] == ["ar", "en", "pt"]


def test_page_disallowed_by_robots_is_never_requested(ingested):
    assert rows(
        ingested,
        "SELECT count(*) FROM skipped WHERE reason = 'robots_disallowed' AND url LIKE '%/prive/%'",
    ) == [(1,)]
    assert not [r for r in ingested["requests_first"] if "/prive/" in r.path]


def test_tracking_variants_and_copied_text_are_kept_as_urls(ingested):
    relations = dict(rows(ingested, "SELECT relation, count(*) FROM document_urls GROUP BY ALL"))
    assert relations.get("same_text") == 1
    ((copy, stored),) = rows(
        ingested,
        "SELECT u.url, d.url FROM document_urls u JOIN documents d "
        "ON d.id = u.document_id WHERE u.relation = 'same_text'",
    )
    paths = sorted(u.split("/", 3)[3] for u in (copy, stored))
    assert paths == [
        "2025/03/15/djibo-convoi-ravitaillement-escorte/",
        "securite/djibo-convoi-ravitaillement-escorte/",
    ]
    kidal = rows(
        ingested,
        "SELECT d.url, u.url FROM documents d JOIN document_urls u "
        "ON u.document_id = d.id WHERE d.url LIKE '%kidal-services-etat%'",
    )
    assert len(kidal) == 1 and sum("utm_source=rss" in u for u in kidal[0]) == 1


def test_failed_feeds_are_reported_and_do_not_fail_the_run(ingested):
    first = ingested["first"]
    assert first["failed"] == 2  # the feed answering 500 and the one answering 404
    report = first["report"]
    assert "HTTP 500" in report and "HTTP 404" in report
    (status,) = rows(ingested, "SELECT status FROM runs WHERE run_id = ?", first["run_id"])[0]
    assert status == "completed"


def test_malformed_feed_still_yields_its_items_with_a_warning(ingested):
    report = ingested["first"]["report"]
    line = next(x for x in report.splitlines() if "/rss/securite.xml" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:4] == ["ok", "3"] and "not well-formed" in cells[-1]


def test_page_with_a_wrong_declared_charset_keeps_its_accents(ingested):
    (text,) = rows(ingested, "SELECT text FROM documents WHERE url LIKE '%tillaberi-deplaces%'")[0]
    assert "Tillabéri" in text and "Ã" not in text


def test_items_of_a_mis_encoded_feed_keep_their_accents(ingested):
    titles = [
        t
        for (t,) in rows(
            ingested, "SELECT title FROM documents WHERE feed_url LIKE '%/rss/une.xml'"
        )
    ]
    assert titles and all("Ã" not in t and "\ufffd" not in t for t in titles)
    assert any(ch in "".join(titles) for ch in "éèàç")


def test_video_page_falls_back_to_the_feed_content(ingested):
    assert rows(
        ingested, "SELECT text_source FROM documents WHERE url LIKE '%reportage-mopti-peche%'"
    ) == [("feed_content",)]


def test_short_brief_is_kept(ingested):
    assert rows(
        ingested,
        "SELECT count(*) FROM documents WHERE url LIKE "
        "'%/breves/2025/03/19/burkina-est-motos-interdites.html'",
    ) == [(1,)]


def test_dates_come_from_the_feed_else_the_page_and_never_from_implausible_values(ingested):
    assert rows(
        ingested,
        "SELECT published_source FROM documents WHERE url LIKE '%cedeao-aes-libre-circulation%'",
    ) == [("page",)]
    implausible = rows(
        ingested,
        "SELECT published_source, year(published_at) FROM documents "
        "WHERE url LIKE '%-48260.html' OR url LIKE '%tibesti%'",
    )
    assert implausible and all(
        src != "feed" and year not in (1970, 2099) for src, year in implausible
    )
    assert rows(
        ingested, "SELECT count(*) FROM documents WHERE origin = 'feed' AND published_at IS NULL"
    ) == [(0,)]


def test_stored_documents_are_tagged(ingested):
    untagged = rows(
        ingested,
        "SELECT count(*) FROM documents d WHERE NOT EXISTS "
        "(SELECT 1 FROM tagged_documents t WHERE t.document_id = d.id)",
    )
    assert untagged == [(0,)]
    boni = rows(
        ingested,
        "SELECT list(DISTINCT m.entity_id ORDER BY m.entity_id) FROM mentions m "
        "JOIN documents d ON d.id = m.document_id WHERE d.url LIKE "
        "'%attaque-boni-six-soldats-tues-jnim-revendique%'",
    )
    assert {"MLI", "jnim"} <= set(boni[0][0])


def test_rerun_with_nothing_new_adds_rows_only_to_runs(ingested):
    before, after = ingested["after_first"], ingested["after_second"]
    assert {t: after[t] for t in TABLES} == {t: before[t] for t in TABLES}
    assert after["runs"] == before["runs"] + 1
    assert ingested["second"]["stored"] == 0


def test_rerun_costs_one_conditional_request_per_feed(ingested):
    second = ingested["second"]
    assert second["unchanged"] == 9 and second["fetched"] == 0
    pages = [r for r in ingested["requests_second"] if r.path.endswith(".html")]
    assert pages == []


def test_run_summary_is_stored_with_its_counts(ingested):
    (counts_json, report) = rows(
        ingested, "SELECT counts, report FROM runs WHERE run_id = ?", ingested["first"]["run_id"]
    )[0]
    stored = json.loads(counts_json)
    assert stored["stored"] == 34 and stored["skipped_by_reason"]["not_french"] == 3
    assert report.startswith("# Ingest run")


def test_summary_is_published_as_a_prefect_artifact_of_the_flow_run(ingested):
    import httpx
    from prefect.settings import PREFECT_API_URL

    first = ingested["first"]
    # Read back over the API by id, as another program reading the report would.
    answer = httpx.get(f"{PREFECT_API_URL.value()}/artifacts/{first['artifact_id']}")
    artifact = answer.raise_for_status().json()
    assert (artifact["key"], artifact["type"]) == ("ingest-report", "markdown")
    assert artifact["flow_run_id"] == first["run_id"]
    assert artifact["data"] == first["report"]


def test_every_new_item_of_every_feed_is_accounted_for_in_the_report(ingested):
    lines = [
        x for x in ingested["first"]["report"].splitlines() if x.startswith("| ") and "://" in x
    ]
    assert len(lines) == 11
    for line in lines:
        _, _, _, _, new, stored, copies, skipped, _ = (
            c.strip() for c in line.strip("|").split("|")
        )
        assert int(new) == int(stored) + int(copies) + int(skipped), line


def test_wire_copies_form_stories_rooted_at_the_agency_that_published_first(ingested):
    stories = rows(
        ingested, "SELECT first_source, copies FROM stories WHERE copies > 1 ORDER BY copies DESC"
    )
    assert stories == [("Agence Sahel Presse", 4)] + [("Agence Sahel Presse", 3)] * 3
    assert rows(ingested, "SELECT count(*) FROM documents WHERE duplicate_of IS NOT NULL") == [(9,)]
