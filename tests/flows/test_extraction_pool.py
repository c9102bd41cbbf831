"""The extraction pool signs a run's new documents for near-duplicate grouping on its workers,
idle by then, with the same signatures as the flow's own process. Real worker processes."""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np

from flows.dedup import sign_here
from flows.extraction_pool import SIGN_HERE_BELOW, ExtractionPool

LEDE = (
    "le gouvernement de transition a annoncé mardi à Bamako une attaque contre un poste "
    "militaire dans la région de Mopti où des hommes armés ont visé les forces de défense"
)
BREAK_NOTICED_S = 10.0


def texts(count: int, seed: int = 7) -> list[str]:
    rng, words = random.Random(seed), LEDE.split()
    return [" ".join(rng.choices(words, k=rng.randint(20, 400))) for _ in range(count)]


def same(signed: list[np.ndarray], expected: list[np.ndarray]) -> bool:
    return len(signed) == len(expected) and all(map(np.array_equal, signed, expected))


def test_the_workers_sign_texts_in_order_as_the_flow_process_does():
    batch = texts(3 * SIGN_HERE_BELOW)
    with ExtractionPool(workers=2) as pool:
        signed = pool.sign(batch)
        started = list(pool._executor._processes)
    assert same(signed, sign_here(batch))
    assert started, "no worker process signed the texts"


def test_a_few_texts_are_signed_without_starting_a_worker():
    batch = texts(SIGN_HERE_BELOW - 1)
    with ExtractionPool(workers=2) as pool:
        signed = pool.sign(batch)
        started = list(pool._executor._processes)
    assert same(signed, sign_here(batch))
    assert started == []


def test_a_broken_pool_is_replaced_and_the_texts_are_signed_all_the_same():
    batch = texts(2 * SIGN_HERE_BELOW)
    with ExtractionPool(workers=1) as pool:
        pool.sign(batch)
        broken = pool._executor
        for pid in list(broken._processes):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + BREAK_NOTICED_S
        while not broken._broken and time.monotonic() < deadline:
            time.sleep(0.05)
        signed = pool.sign(batch)
    assert broken._broken, f"the pool did not notice its dead worker in {BREAK_NOTICED_S} s"
    assert pool.replaced == 1
    assert same(signed, sign_here(batch))
