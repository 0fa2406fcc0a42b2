"""Market-level red flags over many lots (pure, incremental): the Open Contracting Partnership's
Cardinal-style indicators. ``Market`` keeps counters; ``add(lot)`` folds one finished lot in (replacing
it if its result changed), ``remove(lot)`` takes it out, so a full recomputation is adding every lot and
a tick folds in only the lots changed since; ``findings()`` reads the flags off the counters.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

BASIS = {
    "single_bidder": "OCP Cardinal R018 (single bid received)；《招标投标法》第二十八条：投标人少于三个的应当重新招标",
    "short_period": "OCP Cardinal R003 (short submission period)：提交期短于法定最短期限",
    "price_close_to_estimate": "OCP Cardinal R024 (price close to the estimate)：中标价不低于估算价的99.5%",
    "never_winning": "OCP Cardinal R028 (losing bidders that never win)：投标五次以上从未中标（疑似陪标）",
    "same_winner": "OCP Cardinal R035 (all except winning bid disqualified / same losers)：同一落标人三次以上均输给同一中标人",
    "bid_rotation": "OCP Cardinal R058 (heavily discounted / bid rotation)、Imhof (2019)：同一组投标人反复共同投标并轮流中标",
}
TITLES = {
    "single_bidder": ("只有一家有效投标", "single valid bid"),
    "short_period": ("投标期过短", "short submission period"),
    "price_close_to_estimate": ("中标价接近估算价", "winning price close to the estimate"),
    "never_winning": ("从未中标的投标人", "bidder that never wins"),
    "same_winner": ("总输给同一中标人", "always loses to the same winner"),
    "bid_rotation": ("轮流中标", "bid rotation"),
}
NEVER_WIN_MIN_BIDS = 5
SAME_WINNER_MIN = 3
ROTATION_MIN_LOTS = 4
CLOSE_TO_ESTIMATE = 0.995
PAIR_LIMIT = 30


def _bump(counter: Counter, key, sign: int) -> None:
    """Add ``sign``; a count back at zero is removed (so the counters hold only what the lots say)."""
    n = counter[key] + sign
    if n:
        counter[key] = n
    else:
        del counter[key]


def _member(index: dict, key, lot: str, sign: int) -> None:
    if sign > 0:
        index[key].add(lot)
    else:
        index[key].discard(lot)
        if not index[key]:
            del index[key]


@dataclass(frozen=True)
class LotOutcome:
    lot: str
    estimate_fen: int
    prices: dict[str, int]  # valid bidder -> price (fen)
    winner: str | None
    notice_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    min_notice_days: int = 0


@dataclass(frozen=True)
class MarketFinding:
    indicator: str
    lots: tuple[str, ...]
    bidders: tuple[str, ...]
    evidence: dict = field(compare=False, hash=False)


class Market:
    """The counters of every lot folded in. ``add`` folds a lot in (a lot already in is replaced: its result
    changed), ``remove`` takes it out again, so a tick folds in only the lots whose result changed since the last
    one; ``findings`` reads the flags off the counters. Property: any sequence of adds and removes leaves the same
    counters and findings as adding the final lots to a fresh ``Market`` (tests/supervision/test_market.py)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, LotOutcome] = {}
        self.bids: Counter[str] = Counter()
        self.wins: Counter[str] = Counter()
        self.lots_of: dict[str, set[str]] = defaultdict(set)
        self.losses_to: dict[str, Counter[str]] = defaultdict(Counter)  # loser -> winner -> count
        self.loss_lots: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.strong: set[tuple[str, str]] = set()  # pairs that bid together in ≥ ROTATION_MIN_LOTS lots
        self.flags: dict[str, list[MarketFinding]] = {}  # each lot's own flags, read once when folded in

    @property
    def count(self) -> int:
        return len(self.outcomes)

    def add(self, o: LotOutcome) -> None:
        if o.lot in self.outcomes:
            self.remove(o.lot)
        self.outcomes[o.lot] = o
        self.flags[o.lot] = self.lot_flags(o)
        self._fold(o, +1)

    def remove(self, lot: str) -> None:
        o = self.outcomes.pop(lot, None)
        if o is not None:
            del self.flags[lot]
            self._fold(o, -1)

    def _fold(self, o: LotOutcome, sign: int) -> None:
        bidders = sorted(o.prices)
        for b in bidders:
            _bump(self.bids, b, sign)
            _member(self.lots_of, b, o.lot, sign)
            if o.winner is not None and b != o.winner:
                _bump(self.losses_to[b], o.winner, sign)
                if not self.losses_to[b]:
                    del self.losses_to[b]
                _member(self.loss_lots, (b, o.winner), o.lot, sign)
        if o.winner is not None:
            _bump(self.wins, o.winner, sign)
        if len(bidders) <= PAIR_LIMIT:  # pairs of very large lots say nothing about a group
            for pair in combinations(bidders, 2):
                _bump(self.pairs, pair, sign)
                if self.pairs.get(pair, 0) >= ROTATION_MIN_LOTS:
                    self.strong.add(pair)
                else:
                    self.strong.discard(pair)

    @staticmethod
    def lot_flags(o: LotOutcome) -> list[MarketFinding]:
        """The flags one lot raises by itself (single bid, short period, price close to the estimate)."""
        out = []
        bidders = sorted(o.prices)
        if len(bidders) == 1:
            out.append(MarketFinding("single_bidder", (o.lot,), tuple(bidders), {"bids": 1}))
        if o.notice_at and o.deadline and o.min_notice_days and \
                o.deadline - o.notice_at < dt.timedelta(days=o.min_notice_days):
            days = (o.deadline - o.notice_at) / dt.timedelta(days=1)
            out.append(MarketFinding("short_period", (o.lot,), (), {"days": f"{days:.1f}",
                                                                    "minimum": o.min_notice_days}))
        if o.winner is not None and o.estimate_fen and o.winner in o.prices and len(bidders) > 1 \
                and o.prices[o.winner] >= o.estimate_fen * CLOSE_TO_ESTIMATE:
            out.append(MarketFinding("price_close_to_estimate", (o.lot,), (o.winner,),
                                     {"price_fen": o.prices[o.winner], "estimate_fen": o.estimate_fen}))
        return out

    def findings(self) -> list[MarketFinding]:
        out = [f for lot in sorted(self.flags) for f in self.flags[lot]]
        for b, n in sorted(self.bids.items()):
            if n >= NEVER_WIN_MIN_BIDS and self.wins[b] == 0:
                out.append(MarketFinding("never_winning", tuple(sorted(self.lots_of[b])), (b,), {"bids": n}))
        for loser, winners in sorted(self.losses_to.items()):
            total = sum(winners.values())
            winner, n = max(winners.items(), key=lambda kv: (kv[1], kv[0]))
            if n >= SAME_WINNER_MIN and n == total and self.wins[loser] == 0:
                out.append(MarketFinding("same_winner", tuple(sorted(self.loss_lots[(loser, winner)])),
                                         (loser, winner), {"losses": n}))
        out += self._rotation()
        return out

    def _rotation(self) -> list[MarketFinding]:
        """Groups of ≥3 bidders whose members bid together in ≥4 lots, where the wins of those lots
        stay inside the group and every member wins at least once."""
        strong = self.strong
        adj: dict[str, set[str]] = defaultdict(set)
        for a, b in strong:
            adj[a].add(b)
            adj[b].add(a)
        seen: set[str] = set()
        out = []
        for start in sorted(adj):
            if start in seen:
                continue
            comp, stack = set(), [start]
            while stack:
                x = stack.pop()
                if x not in comp:
                    comp.add(x)
                    stack.extend(adj[x] - comp)
            seen |= comp
            if len(comp) < 3 or len(comp) > 12:
                continue
            lots: dict[str, str | None] = {}
            for a, b in combinations(sorted(comp), 2):
                if self.pairs.get((a, b), 0) == 0:
                    continue
                for lot in self.lots_of[a] & self.lots_of[b]:
                    if len(self.outcomes[lot].prices) <= PAIR_LIMIT:
                        lots[lot] = self.outcomes[lot].winner
            inside = {lot: w for lot, w in lots.items() if w in comp}
            winners = Counter(inside.values())
            if len(inside) >= ROTATION_MIN_LOTS and len(inside) >= 0.8 * len(lots) and set(winners) == comp:
                out.append(MarketFinding("bid_rotation", tuple(sorted(inside)), tuple(sorted(comp)),
                                         {"lots": len(inside), "wins": dict(sorted(winners.items()))}))
        return out


def indicators(outcomes: list[LotOutcome]) -> list[MarketFinding]:
    m = Market()
    for o in outcomes:
        m.add(o)
    return m.findings()
