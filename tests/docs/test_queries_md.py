"""docs/queries.md runs: every recipe returns at least one row on the analyst fixture store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

QUERIES_MD = Path(__file__).resolve().parents[2] / "docs" / "queries.md"
# A recipe is a second-level heading followed, somewhere below it, by one ```sql block.
_RECIPE = re.compile(r"^## (?P<title>.+?)\n.*?```sql\n(?P<sql>.*?)```", re.S | re.M)
MIN_RECIPES = 20
RECIPES = [(m["title"], m["sql"]) for m in _RECIPE.finditer(QUERIES_MD.read_text("utf-8"))]


def test_there_are_at_least_twenty_recipes():
    assert len(RECIPES) >= MIN_RECIPES


@pytest.mark.parametrize(("title", "sql"), RECIPES, ids=[t for t, _ in RECIPES])
def test_recipe_returns_rows(analyst_store, title, sql):
    with analyst_store.read(sandboxed=True) as con:  # as sahelwatch query runs it
        rows = con.execute(sql).fetchall()
    assert rows, f"recipe {title!r} returned no row on the fixture store"
