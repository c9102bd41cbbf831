"""Snippets: the densest passage of a text, with the matching words marked."""

from __future__ import annotations

from extractors.snippet import ELLIPSIS, make_snippet


def test_the_window_with_most_matching_words_is_chosen():
    text = " ".join(["bla"] * 50 + ["drone", "x", "attaque"] + ["bla"] * 50)
    snippet = make_snippet(text, {"drone", "attaque"}, size=10)
    assert "drone" in snippet.text and "attaque" in snippet.text
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    assert [snippet.text[a:b] for a, b in snippet.marks] == ["drone", "attaque"]


def test_render_wraps_each_match():
    snippet = make_snippet("Des drones et une attaque.", lambda w: w in {"drones", "attaque"})
    assert snippet.render() == "Des **drones** et une **attaque**."
