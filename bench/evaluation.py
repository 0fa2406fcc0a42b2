"""Benchmark: the pure evaluation core (no database).

Measures, in the same run:
  raw_scoring  — the same comprehensive-scoring arithmetic done naively with floats (committee means,
                 price score, totals, a sort): the floor;
  scoring      — bidding.evaluation.scoring.evaluate: exact Fractions, validation of every input, compliance
                 majority, abnormal-low flags, drop-extremes means, declared tie-break chain;
  raw_draw     — random.sample of the committee from the eligible pool (not verifiable): the floor;
  draw         — bidding.evaluation.draw.draw: exclusions + HMAC-SHA256 seeded order of the whole pool.
Default: 300 bids × 9 experts × 3 scored criteria, pool of 20,000 experts; --quick: 60 bids, pool 2,000.
Goals: exact scoring ≤ 25× the float floor and < 2 s; a verifiable draw over the pool < 1 s.

    .venv/bin/python bench/evaluation.py --quick
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bidding.evaluation import draw as drawing  # noqa: E402
from bidding.evaluation import scoring  # noqa: E402

METHOD = {
    "kind": "comprehensive", "drop_extremes": True, "abnormal_low_ratio": "0.8",
    "criteria": [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified"},
        {"code": "price", "kind": "price", "weight": "40"},
        {"code": "technical", "kind": "score", "weight": "30"},
        {"code": "business", "kind": "score", "weight": "20"},
        {"code": "service", "kind": "score", "weight": "10"},
    ],
    "tie_break": ["price", "submitted", "lottery"],
}


def make_inputs(n_bids: int, n_experts: int, rnd: random.Random):
    experts = list(range(1, n_experts + 1))
    bids = [scoring.Bid(1000 + i, rnd.randint(800_000, 1_000_000), submitted_seq=i) for i in range(n_bids)]
    votes, scores = {}, {}
    for b in bids:
        for e in experts:
            votes[(e, b.bidder, "qualification")] = True
            scores[(e, b.bidder, "technical")] = Fraction(rnd.randint(0, 60), 2)
            scores[(e, b.bidder, "business")] = rnd.randint(0, 20)
            scores[(e, b.bidder, "service")] = rnd.randint(0, 10)
    return experts, bids, votes, scores


def raw_scoring(experts, bids, scores) -> list:
    """The float floor: same arithmetic, no validation, no exactness."""
    bench = min(b.price_fen for b in bids)
    rows = []
    for b in bids:
        total = 40.0 * bench / b.price_fen
        for c in ("technical", "business", "service"):
            vals = sorted(float(scores[(e, b.bidder, c)]) for e in experts)
            if len(vals) >= 7:
                vals = vals[1:-1]
            total += sum(vals) / len(vals)
        rows.append((-total, b.price_fen, b.bidder))
    return sorted(rows)


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bids", type=int)
    parser.add_argument("--pool", type=int)
    args = parser.parse_args()
    n_bids = args.bids or (60 if args.quick else 300)
    n_pool = args.pool or (2_000 if args.quick else 20_000)
    repeat = 3 if args.quick else 5
    rnd = random.Random(20260302)
    method = scoring.Method.from_dict(METHOD)
    experts, bids, votes, scores = make_inputs(n_bids, 9, rnd)
    seed = bytes(range(32))

    raw_s = timed(lambda: raw_scoring(experts, bids, scores), repeat)
    result = None

    def exact():
        nonlocal result
        result = scoring.evaluate(method, bids, experts=experts, votes=votes, scores=scores, seed=seed)

    exact_s = timed(exact, repeat)
    assert result is not None and result.complete and len(result.ranking) + len(result.excluded) + len(result.pending) >= 0

    pool = [drawing.Candidate(id=i, organisation_id=10_000 + i % 500, available=i % 13 != 0)
            for i in range(1, n_pool + 1)]
    bidder_orgs = [10_000 + i for i in range(0, 40)]
    ids, _ = drawing.eligible(pool, tenderee_org=10_499, bidder_orgs=bidder_orgs)
    raw_draw_s = timed(lambda: random.Random(7).sample(ids, 9), repeat)
    draw_s = timed(lambda: drawing.draw(seed, pool, size=9, tenderee_org=10_499, bidder_orgs=bidder_orgs,
                                        context="lot:1"), repeat)
    ratio = exact_s / raw_s if raw_s else float("inf")
    out = {
        "bench": "evaluation", "bids": n_bids, "experts": 9, "pool": n_pool,
        "raw_scoring_ms": round(raw_s * 1000, 2), "scoring_ms": round(exact_s * 1000, 2),
        "scoring_ratio": round(ratio, 1),
        "raw_draw_ms": round(raw_draw_s * 1000, 3), "draw_ms": round(draw_s * 1000, 2),
        "goals": [
            {"name": "exact scoring time / float floor", "value": round(ratio, 1), "target": 25, "better": "lower"},
            {"name": f"exact scoring of {n_bids} bids x 9 experts (ms)", "value": round(exact_s * 1000, 1),
             "target": 2000, "better": "lower"},
            {"name": f"verifiable draw over a pool of {n_pool} (ms)", "value": round(draw_s * 1000, 1),
             "target": 1000, "better": "lower"},
        ],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
