"""Evaluation harness: synthetic markets with planted cartels and honest competition, and each
screen's precision and recall on them (lot level: a lot is "flagged" by a screen when the screen
finds something in it; the truth is whether a cartel planted that lot).

Cartel schemes planted (each cartel lot uses one): cover bidding (a designated winner, the others
bid a few per cent above — half at exact steps, half with noise), bid rotation (the same group bids
together, the designated winner rotates), shared preparer (the same author/company in the documents,
sometimes the same file), shared payer (deposits from one account). Honest lots: independent costs.

    python -m supervision.harness [--seed N] [--lots N] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from dataclasses import dataclass

from supervision import market, screens

SCHEMES = ("cover", "rotation", "preparer", "payer")


@dataclass
class SynthLot:
    lot: str
    estimate_fen: int
    bids: list[screens.BidFacts]
    winner: str | None
    cartel: str | None  # scheme, or None for honest competition


def _honest_bid(rnd: random.Random, bidder: str, estimate: int) -> screens.BidFacts:
    price = int(estimate * rnd.uniform(0.80, 1.0) * rnd.lognormvariate(0, 0.04))
    return screens.BidFacts(
        bidder=bidder, name=f"公司{bidder}", price_fen=price - price % 100,
        file_hashes=frozenset({f"{bidder}-{rnd.getrandbits(64):x}"}),
        doc_meta=frozenset({("author", f"员工{bidder}-{rnd.randrange(3)}"), ("company", f"公司{bidder}"),
                            ("software", "WPS Office")}),
        contacts=frozenset({f"contact-{bidder}"}), payers=frozenset({f"acct-{bidder}"}),
        addresses=frozenset({f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}"}),
        keys=frozenset({f"key-{bidder}"}))


def generate(*, seed: int = 1, lots: int = 2000, bidders: int = 300, cartels: int = 8, cartel_share: float = 0.15
             ) -> list[SynthLot]:
    rnd = random.Random(seed)
    firms = [str(i) for i in range(bidders)]
    groups = [firms[i * 4:(i + 1) * 4] for i in range(cartels)]  # four firms per cartel
    honest_firms = firms[cartels * 4:]
    turn: dict[int, int] = defaultdict(int)
    out = []
    for n in range(lots):
        estimate = rnd.randrange(1_000_000, 500_000_000) * 100
        lot = f"L{n}"
        if rnd.random() < cartel_share:
            g = rnd.randrange(cartels)
            scheme = SCHEMES[g % len(SCHEMES)]
            members = groups[g]
            if scheme == "rotation":
                winner = members[turn[g] % len(members)]
                turn[g] += 1
            else:
                winner = rnd.choice(members)
            base = int(estimate * rnd.uniform(0.93, 0.99))
            step = rnd.choice((0.01, 0.02, 0.03))
            exact = rnd.random() < 0.5
            bids = []
            covers = [m for m in members if m != winner]
            shared_author = f"代理人{g}"
            for k, m in enumerate([winner] + covers):
                price = base if k == 0 else int(base * (1 + step * k) * (1 if exact else rnd.uniform(0.995, 1.005)))
                b = _honest_bid(rnd, m, estimate)
                meta = b.doc_meta
                files = b.file_hashes
                payers = b.payers
                if scheme == "preparer":
                    meta = frozenset({("author", shared_author), ("company", f"公司{m}"), ("software", "WPS Office")})
                    if rnd.random() < 0.3:
                        files = frozenset({f"shared-{g}-{n}"})
                if scheme == "payer":
                    payers = frozenset({f"acct-boss-{g}"})
                bids.append(screens.BidFacts(bidder=m, name=b.name, price_fen=price - price % 100, file_hashes=files,
                                             doc_meta=meta, contacts=b.contacts, payers=payers,
                                             addresses=b.addresses, keys=b.keys))
            for o in rnd.sample(honest_firms, rnd.randrange(0, 2)):  # an outsider sometimes bids too (higher)
                b = _honest_bid(rnd, o, estimate)
                bids.append(screens.BidFacts(bidder=o, name=b.name, price_fen=int(estimate * rnd.uniform(1.0, 1.05)),
                                             file_hashes=b.file_hashes, doc_meta=b.doc_meta, contacts=b.contacts,
                                             payers=b.payers, addresses=b.addresses, keys=b.keys))
            out.append(SynthLot(lot, estimate, bids, winner, scheme))
        else:
            k = rnd.choice((1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 10))
            bids = [_honest_bid(rnd, f, estimate) for f in rnd.sample(honest_firms, k)]
            winner = min(bids, key=lambda b: b.price_fen or 0).bidder
            out.append(SynthLot(lot, estimate, bids, winner, None))
    return out


def evaluate(lots: list[SynthLot]) -> dict[str, dict]:
    truth = {s.lot for s in lots if s.cartel}
    flagged: dict[str, set[str]] = defaultdict(set)
    for s in lots:
        for f in screens.screen_lot(s.bids):
            flagged[f.screen].add(s.lot)
    outcomes = [market.LotOutcome(lot=s.lot, estimate_fen=s.estimate_fen,
                                  prices={b.bidder: b.price_fen or 0 for b in s.bids}, winner=s.winner) for s in lots]
    for mf in market.indicators(outcomes):
        flagged[mf.indicator] |= set(mf.lots)
    report = {}
    for name in list(screens.BASIS) + list(market.BASIS):
        hits = flagged.get(name, set())
        tp = len(hits & truth)
        by_scheme = {}
        for scheme in SCHEMES:
            planted = {x.lot for x in lots if x.cartel == scheme}
            by_scheme[scheme] = round(len(hits & planted) / len(planted), 2) if planted else None
        report[name] = {"flagged": len(hits), "true_positive": tp,
                        "precision": round(tp / len(hits), 3) if hits else None,
                        "recall": round(tp / len(truth), 3) if truth else None, "recall_by_scheme": by_scheme}
    report["_market"] = {"lots": len(lots), "cartel_lots": len(truth),
                         "by_scheme": {s: sum(1 for x in lots if x.cartel == s) for s in SCHEMES}}
    return report


def markdown(report: dict) -> str:
    lines = ["| screen | flagged lots | true positives | precision | recall (all cartel lots) | "
             + " | ".join(f"recall: {s}" for s in SCHEMES) + " |", "|---|---:|---:|---:|---:|" + "---:|" * len(SCHEMES)]
    for name, r in report.items():
        if name.startswith("_"):
            continue
        p = "—" if r["precision"] is None else f"{r['precision']:.2f}"
        rc = "—" if r["recall"] is None else f"{r['recall']:.2f}"
        per = " | ".join("—" if r["recall_by_scheme"][s] is None else f"{r['recall_by_scheme'][s]:.2f}" for s in SCHEMES)
        lines.append(f"| {name} | {r['flagged']} | {r['true_positive']} | {p} | {rc} | {per} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lots", type=int, default=2000)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    report = evaluate(generate(seed=args.seed, lots=args.lots))
    print(markdown(report) + "\n\n" + json.dumps(report["_market"]) if args.markdown else json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
