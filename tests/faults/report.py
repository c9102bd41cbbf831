"""The fault suite's results: each test appends one line, `make faults` renders them as a table.

Tests call `record(...)`; it writes only when SAHELWATCH_FAULTS_REPORT names a file (as `make
faults` sets it), so `make test` leaves nothing behind. `python -m tests.faults.report FILE`
prints the markdown table, one row per fault, the rows of one fault (kill points, examples) merged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

REPORT_ENV_VAR = "SAHELWATCH_FAULTS_REPORT"
HEADER = ("fault", "runs", "items lost", "items doubled", "peak memory", "outcome")


@dataclass(frozen=True)
class FaultResult:
    fault: str  # what was done, e.g. "kill -9 ingest"
    runs: int  # flow runs (or fuzz examples) it took
    lost: int  # rows of the reference store missing afterwards
    doubled: int  # rows present more often than in the reference store
    peak_rss: int  # bytes, largest RSS of the process tree seen
    outcome: str  # what happened, in a few words


def record(result: FaultResult) -> None:
    """Append the result to the report file, if one is being written."""
    path = os.environ.get(REPORT_ENV_VAR)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(result)) + "\n")


def load(path: Path) -> list[FaultResult]:
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [FaultResult(**json.loads(line)) for line in lines if line.strip()]


def merged(results: Iterable[FaultResult]) -> list[tuple[str, ...]]:
    """One row per fault, in first-seen order: runs and losses summed, the worst memory kept."""
    rows: dict[str, dict] = {}
    for r in results:
        row = rows.setdefault(
            r.fault, {"points": 0, "runs": 0, "lost": 0, "doubled": 0, "rss": 0, "outcomes": {}}
        )
        row["points"] += 1
        row["runs"] += r.runs
        row["lost"] += r.lost
        row["doubled"] += r.doubled
        row["rss"] = max(row["rss"], r.peak_rss)
        row["outcomes"][r.outcome] = row["outcomes"].get(r.outcome, 0) + 1
    return [
        (
            fault,
            str(row["runs"]),
            str(row["lost"]),
            str(row["doubled"]),
            f"{row['rss'] / 2**20:.0f} MiB",
            _outcome(row["outcomes"], row["points"]),
        )
        for fault, row in rows.items()
    ]


def _outcome(outcomes: dict[str, int], points: int) -> str:
    if len(outcomes) == 1:
        (only,) = outcomes
        return only if points == 1 else f"{only} ({points}/{points})"
    return "; ".join(f"{text} ({n}/{points})" for text, n in sorted(outcomes.items()))


def table(results: Iterable[FaultResult]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in merged(results)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.faults.report RESULTS.jsonl", file=sys.stderr)
        return 2
    results = load(Path(argv[0]))
    if not results:
        print(f"no fault results in {argv[0]}", file=sys.stderr)
        return 1
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
