"""How a source's pages are cut into batches, fetched and written together (flows/pipeline.py)."""

from __future__ import annotations

import pytest

from flows.pipeline import PAGE_BATCH_SIZE, cut_batches


@pytest.mark.parametrize("pages", [0, 1, 2, 3, 7, 8, 20, 100])
def test_every_page_is_in_one_batch_in_order(pages):
    jobs = list(range(pages))
    batches = cut_batches(jobs)
    assert [job for batch in batches for job in batch] == jobs
    assert all(batches)  # no empty batch


def test_batches_are_full_but_the_last():
    jobs = list(range(3 * PAGE_BATCH_SIZE + 1))
    sizes = [len(batch) for batch in cut_batches(jobs)]
    assert sizes == [PAGE_BATCH_SIZE, PAGE_BATCH_SIZE, PAGE_BATCH_SIZE, 1]
