"""The analyst views on the fixture store: counts the manifest computed by hand, and recomputed."""

from __future__ import annotations

from collections import defaultdict

from tests.support.analyst_store import id_of, load_manifest

MANIFEST = load_manifest()
EXPECTED = MANIFEST["expected"]
BY_KEY = {a["key"]: a for a in MANIFEST["articles"]}


def story_key(article: dict) -> str:
    return article.get("copy_of", article["key"])


def rows(store, sql: str, params=None) -> list[tuple]:
    with store.read() as con:
        return con.execute(sql, params or []).fetchall()


def test_the_tagger_names_what_the_manifest_says(analyst_store):
    found = defaultdict(set)
    for doc_id, entity in rows(analyst_store, "SELECT document_id, entity_id FROM mentions"):
        found[doc_id].add(entity)
    assert {a["key"]: found[id_of(a)] for a in MANIFEST["articles"]} == {
        a["key"]: set(a["names"]) for a in MANIFEST["articles"]
    }


def test_articles_have_one_row_per_story_with_its_number_of_copies(analyst_store):
    got = dict(rows(analyst_store, "SELECT story_id, copies FROM articles"))
    assert len(got) == EXPECTED["articles"]
    assert sum(got.values()) == EXPECTED["documents"]
    for key, copies in EXPECTED["copies"].items():
        assert got[id_of(BY_KEY[key])] == copies


def test_articles_list_the_countries_and_actors_named_in_any_copy(analyst_store):
    named = defaultdict(set)
    for article in MANIFEST["articles"]:
        named[story_key(article)].update(article["names"])
    got = {
        story: (countries, actors)
        for story, countries, actors in rows(
            analyst_store, "SELECT story_id, countries, actors FROM articles"
        )
    }
    for key, names in named.items():
        countries = sorted(n for n in names if n.isupper())
        actors = sorted(n for n in names if not n.isupper())
        assert got[id_of(BY_KEY[key])] == (countries, actors)


def test_mentions_daily_counts_a_wire_once_but_every_copy_on_its_day(analyst_store):
    got = rows(
        analyst_store,
        "SELECT strftime(day, '%Y-%m-%d'), stories, documents FROM mentions_daily "
        "WHERE entity_id = 'jnim' ORDER BY day",
    )
    assert got == [(str(e["day"]), e["stories"], e["documents"]) for e in EXPECTED["jnim_daily"]]


def test_mentions_daily_totals_match_the_manifest_for_every_entity(analyst_store):
    stories, copies = defaultdict(set), defaultdict(int)
    for article in MANIFEST["articles"]:
        for entity in article["names"]:
            stories[entity].add(story_key(article))
            copies[entity] += 1
    got = rows(
        analyst_store,
        "SELECT entity_id, sum(stories), sum(documents) FROM mentions_daily GROUP BY entity_id",
    )
    assert {e: (s, d) for e, s, d in got} == {e: (len(stories[e]), copies[e]) for e in stories}


def test_co_mentions_count_stories_naming_both_per_iso_week(analyst_store):
    got = rows(
        analyst_store,
        "SELECT iso_week, stories FROM co_mentions WHERE entity_a = 'BFA' AND entity_b = 'jnim'",
    )
    assert dict(got) == EXPECTED["bfa_jnim_weekly"]


def test_co_mentions_hold_each_pair_once_in_id_order(analyst_store):
    got = rows(analyst_store, "SELECT count(*) FROM co_mentions WHERE entity_a >= entity_b")
    assert got == [(0,)]


def test_article_mentions_carry_the_watchlist_type_of_each_entity(analyst_store):
    got = dict(rows(analyst_store, "SELECT DISTINCT entity_id, entity_type FROM article_mentions"))
    assert got["jnim"] == "armed_group"
    assert got["assimi-goita"] == "person"
    assert got["fama"] == "state_force"
    assert got["BFA"] == "country"


def test_source_health_counts_polls_failures_silence_and_skips(analyst_store):
    columns = "polls, items_seen, stored, skipped, feed_failures, failure_streak"
    niamey = rows(
        analyst_store,
        f"SELECT {columns}, days_since_new_item FROM source_health "
        "WHERE source = 'Niamey Soir' AND day = DATE '2025-03-20'",
    )
    e = EXPECTED["niamey_soir_on_20th"]
    assert niamey == [
        (e["polls"], 0, 0, 0, e["feed_failures"], e["failure_streak"], e["days_since_new_item"])
    ]
    burkina = rows(
        analyst_store,
        f"SELECT {columns}, skipped_by_reason['http_error'] FROM source_health "
        "WHERE source = 'Burkina 24' AND day = DATE '2025-03-20'",
    )
    e = EXPECTED["burkina24_on_20th"]
    assert burkina == [
        (
            e["polls"],
            e["items_seen"],
            e["stored"],
            e["skipped"],
            0,
            e["failure_streak"],
            e["http_error"],
        )
    ]
