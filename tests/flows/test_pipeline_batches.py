"""How a source's pages are cut into batches, fetched and written together (flows/pipeline.py)."""

from __future__ import annotations

import pytest

from flows.pipeline import FIRST_BATCH_SIZES, PAGE_BATCH_SIZE, cut_batches


@pytest.mark.parametrize("pages", [0, 1, 2, 3, 7, 8, 20, 100])
def test_every_page_is_in_one_batch_in_order(pages):
    jobs = list(range(pages))
    batches = cut_batches(jobs)
    assert [job for batch in batches for job in batch] == jobs
    assert all(batches)  # no empty batch


def test_a_sources_first_batches_are_small_then_full():
    ramp = sum(FIRST_BATCH_SIZES)
    jobs = list(range(ramp + 3 * PAGE_BATCH_SIZE + 1))
    sizes = [len(batch) for batch in cut_batches(jobs)]
    assert sizes == [*FIRST_BATCH_SIZES, PAGE_BATCH_SIZE, PAGE_BATCH_SIZE, PAGE_BATCH_SIZE, 1]
    assert max(FIRST_BATCH_SIZES) < PAGE_BATCH_SIZE
