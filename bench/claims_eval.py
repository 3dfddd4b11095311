"""Precision, recall and speed of `sources.claims` on the hand-labelled abstracts.

Run as `python -m bench.claims_eval` (add `-v` to list every miss and false positive). A
predicted claim counts as a true positive when dataset, metric and value all equal a gold
claim of the same abstract that no other prediction has used.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sotabot.sources.claims.extract import Claim, default_taxonomy, extract_claims

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "claims_labelled.jsonl"

Key = tuple[str, str, float]


@dataclass
class Score:
    abstracts: int = 0
    with_claims: int = 0
    gold: int = 0
    predicted: int = 0
    true_positives: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load(path: Path = LABELLED) -> list[dict]:
    """The labelled abstracts, one dict per JSON line."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def key(dataset: str, metric: str, value: float) -> Key:
    return (dataset, metric, round(float(value), 4))


def score(rows: list[dict], report: list[str] | None = None) -> Score:
    """Compare the extractor with the gold labels; optionally note each disagreement."""
    taxonomy = default_taxonomy()
    result = Score()
    for row in rows:
        gold = Counter(key(c["dataset"], c["metric"], c["value"]) for c in row["claims"])
        predicted: list[Claim] = extract_claims(row["abstract"], taxonomy)
        result.abstracts += 1
        result.with_claims += bool(gold)
        result.gold += sum(gold.values())
        result.predicted += len(predicted)
        unused = gold.copy()
        for claim in predicted:
            k = key(claim.dataset, claim.metric, claim.value)
            if unused[k] > 0:
                unused[k] -= 1
                result.true_positives += 1
            elif report is not None:
                report.append(f"FP {row['arxiv_id']}: {k} from {claim.raw!r} in: {claim.sentence}")
        if report is not None:
            report.extend(f"FN {row['arxiv_id']}: {k}" for k, n in unused.items() for _ in range(n))
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = load()
    report: list[str] | None = [] if "-v" in argv else None
    result = score(rows, report)
    started = time.perf_counter()
    repeats = 5
    taxonomy = default_taxonomy()
    for _ in range(repeats):
        for row in rows:
            extract_claims(row["abstract"], taxonomy)
    elapsed = time.perf_counter() - started
    print(
        f"abstracts        {result.abstracts} ({result.with_claims} with claims, "
        f"{result.abstracts - result.with_claims} without)"
    )
    print(f"gold claims      {result.gold}")
    print(f"predicted        {result.predicted}")
    print(f"true positives   {result.true_positives}")
    print(f"precision        {result.precision:.3f}")
    print(f"recall           {result.recall:.3f}")
    print(f"F1               {result.f1:.3f}")
    print(f"throughput       {repeats * len(rows) / elapsed:,.0f} abstracts/s")
    for line in report or []:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
