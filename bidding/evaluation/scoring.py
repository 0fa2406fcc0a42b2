"""Pure evaluation arithmetic (no database, no Django).

Everything here is exact: numbers are ``int`` fen or ``fractions.Fraction`` points; floats are
refused.  The services layer feeds this module with what the committee entered and stores what
it returns; the same inputs always give the same ranking (the tie-break is a total order).

Methods (the tender notice carries one :class:`Method` as data, ``Method.from_dict``):

* ``lowest_evaluated_price`` — 经评审的最低投标价法: compliance criteria are pass/fail (the committee's
  majority decides per criterion), then bids are ranked by *evaluated price* = price adjusted by
  the declared adjustments (e.g. a 6 % small-enterprise deduction, a fixed loading per deviation).
* ``comprehensive`` — 综合评估法: compliance gate as above, then weighted criteria in points
  (weights sum to 100).  The price criterion scores ``weight × benchmark / evaluated price``
  where ``benchmark`` = the lowest valid evaluated price; every other criterion is scored by every
  expert in ``[0, weight]`` and the committee score is the mean, optionally dropping one highest
  and one lowest score when at least 7 experts scored.
* competitive negotiation / inquiry (:func:`negotiate`) — rounds of quotes from the invited
  suppliers; the lowest valid final quote wins.

Bids may be excluded only on the grounds of 实施条例 art. 51 (:data:`REJECTION_GROUNDS`), each
with a recorded reason; abnormally low bids are *flagged* and the committee decides.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, overload
from collections.abc import Callable, Iterable, Mapping

from trading.coded import CodedError

__all__ = [
    "REJECTION_GROUNDS", "TIE_BREAK_RULES", "ScoringError", "IncompleteEvaluation",
    "Criterion", "AdjustmentRule", "Method", "Bid", "Rejection", "AbnormalDecision",
    "Exclusion", "Missing", "RankedBid", "Result", "Quote",
    "as_fraction", "frac_str", "display", "committee_mean", "evaluated_price", "abnormal_low_flags",
    "evaluate", "negotiate", "check_quote", "lottery_key",
]


class ScoringError(CodedError):
    """Bad evaluation input: a stable code, the values as data, English for logs; the services answer with
    the translated message of its code (bidding/evaluation/messages.py)."""


class IncompleteEvaluation(ScoringError):
    def __init__(self, template: str, missing: tuple[Missing, ...] = (), pending: tuple[int, ...] = (),
                 **params: Any) -> None:
        super().__init__(template, **params)
        self.missing = missing
        self.pending = pending


# 中华人民共和国招标投标法实施条例 第五十一条 — the only grounds on which a bid may be rejected.
REJECTION_GROUNDS: dict[str, str] = {
    "not_signed_sealed": "实施条例第51条(一) 投标文件未经投标单位盖章和单位负责人签字",
    "no_consortium_agreement": "实施条例第51条(二) 投标联合体没有提交共同投标协议",
    "unqualified": "实施条例第51条(三) 投标人不符合国家或者招标文件规定的资格条件",
    "multiple_bids": "实施条例第51条(四) 同一投标人提交两个以上不同的投标文件或者投标报价",
    "below_cost": "实施条例第51条(五) 投标报价低于成本",
    "above_ceiling": "实施条例第51条(五) 投标报价高于招标文件设定的最高投标限价",
    "non_responsive": "实施条例第51条(六) 投标文件没有对招标文件的实质性要求和条件作出响应",
    "collusion_fraud_bribery": "实施条例第51条(七) 投标人有串通投标、弄虚作假、行贿等违法行为",
}
# Exclusions that are not committee rejections: the envelope failed at the opening, or the
# supplier gave no final quote in a negotiation.
OTHER_EXCLUSIONS: dict[str, str] = {
    "opening_invalid": "开标时无效（无法解密或签名无效）",
    "no_final_quote": "未提交最后报价（视为退出谈判）",
}

TIE_BREAK_RULES = ("price", "technical", "submitted", "lottery")  # plus "criterion:<code>"
METHOD_KINDS = ("lowest_evaluated_price", "comprehensive", "negotiation")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# --------------------------------------------------------------------------- numbers

def as_fraction(value: Any, *, what: str = "value") -> Fraction:
    """int / Fraction / Decimal / decimal string ("27.5", "-0.06") / "p/q" → Fraction.  Never float."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ScoringError("%(what)s: %(value)r is not allowed (use an integer or a decimal string)",
                           code="number_float", what=what, value=value)
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ScoringError("%(what)s: %(value)r is not a finite number", code="number_finite", what=what,
                               value=value)
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+/[1-9]\d*", text):
            return Fraction(text)
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            try:
                return Fraction(Decimal(text))
            except InvalidOperation:  # pragma: no cover - regex guards
                pass
        raise ScoringError("%(what)s: %(value)r is not a number", code="number", what=what, value=value)
    raise ScoringError("%(what)s: %(value)r is not a number", code="number", what=what, value=value)


def frac_str(x: Fraction | int | None) -> str | None:
    """Exact, JSON-safe text of a Fraction ("181/3", "60")."""
    if x is None:
        return None
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


@overload
def display(x: Fraction | int, places: int = 2) -> str: ...
@overload
def display(x: None, places: int = 2) -> None: ...
def display(x: Fraction | int | None, places: int = 2) -> str | None:
    """Rounded (half up) decimal text for people ("60.33")."""
    if x is None:
        return None
    x = Fraction(x)
    # exact rounding in Fraction space (no Decimal context precision limits)
    scale = 10 ** places
    scaled = x * scale
    sign = -1 if scaled < 0 else 1
    a = abs(scaled)
    q, r = divmod(a.numerator, a.denominator)
    if 2 * r >= a.denominator:
        q += 1
    return str(Decimal(sign * q).scaleb(-places).quantize(Decimal(1).scaleb(-places)))


def committee_mean(values: Iterable[Fraction], *, drop_extremes: bool = False) -> Fraction:
    """Mean of the experts' scores; with ``drop_extremes`` and ≥ 7 scores, one highest and one
    lowest are dropped first."""
    vals = sorted(Fraction(v) for v in values)
    if not vals:
        raise ScoringError("no scores to average", code="no_scores")
    if drop_extremes and len(vals) >= 7:
        vals = vals[1:-1]
    return Fraction(sum(vals), len(vals))


# --------------------------------------------------------------------------- method (as data)

@dataclass(frozen=True)
class Criterion:
    code: str
    kind: str  # "compliance" | "score" | "price"
    weight: Fraction = Fraction(0)  # points (score/price); 0 for compliance
    name: str = ""
    ground: str = "non_responsive"  # art. 51 ground used when a compliance criterion fails

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, str | None] = {"code": self.code, "kind": self.kind, "name": self.name}
        if self.kind == "compliance":
            d["ground"] = self.ground
        else:
            d["weight"] = frac_str(self.weight)
        return d


@dataclass(frozen=True)
class AdjustmentRule:
    """A price adjustment declared in the tender documents.  Applied ``count`` times, it changes
    the evaluated price by ``price × rate`` and ``fen`` (either may be zero, both may be negative)."""
    code: str
    rate: Fraction = Fraction(0)
    fen: int = 0
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rate": frac_str(self.rate), "fen": self.fen, "name": self.name}


@dataclass(frozen=True)
class Method:
    kind: str
    criteria: tuple[Criterion, ...] = ()
    adjustments: tuple[AdjustmentRule, ...] = ()
    drop_extremes: bool = False
    abnormal_low_ratio: Fraction | None = Fraction(4, 5)
    ceiling_fen: int | None = None
    tie_break: tuple[str, ...] = ("price", "lottery")
    max_candidates: int = 3
    min_valid: int = 1

    # -- construction / validation: each rule of a method on its own
    def __post_init__(self) -> None:
        if self.kind not in METHOD_KINDS:
            raise ScoringError("unknown evaluation method %(kind)r (expected one of %(kinds)s)", code="method_kind",
                              kind=self.kind, kinds=", ".join(METHOD_KINDS))
        self._check_criteria()
        self._check_kind()
        self._check_adjustments()
        self._check_limits()

    def _check_criteria(self) -> None:
        """Unique codes; each criterion of a known kind, a compliance one on a ground of art. 51, a scored
        one with a positive weight."""
        codes = [c.code for c in self.criteria]
        if len(set(codes)) != len(codes):
            raise ScoringError("criterion codes must be unique", code="criterion_codes_unique")
        for c in self.criteria:
            if not _CODE.match(c.code):
                raise ScoringError("criterion code %(criterion)r must be lower-case letters, digits, underscores",
                                   code="criterion_code", criterion=c.code)
            if c.kind not in ("compliance", "score", "price"):
                raise ScoringError("criterion %(criterion)s: unknown kind %(kind)r", code="criterion_kind",
                                   criterion=c.code, kind=c.kind)
            if c.kind == "compliance":
                if c.ground not in REJECTION_GROUNDS:
                    raise ScoringError("criterion %(criterion)s: %(ground)r is not a ground of 实施条例 art. 51",
                                       code="criterion_ground", criterion=c.code, ground=c.ground)
            elif c.weight <= 0:
                raise ScoringError("criterion %(criterion)s: weight must be positive", code="criterion_weight",
                                   criterion=c.code)

    def _check_kind(self) -> None:
        """Lowest evaluated price and negotiation take compliance criteria only (negotiation: final quotes,
        no adjustments, its own tie-breaks); comprehensive scoring one price criterion, weights summing to 100."""
        price = [c for c in self.criteria if c.kind == "price"]
        scored = [c for c in self.criteria if c.kind == "score"]
        if self.kind in ("lowest_evaluated_price", "negotiation"):
            if price or scored:
                raise ScoringError("the %(kind)s method takes compliance criteria only", code="compliance_only",
                                   kind=self.kind.replace("_", " "))
            if self.kind == "negotiation":
                if self.adjustments:
                    raise ScoringError("negotiation compares final quotes: no price adjustments",
                                       code="negotiation_adjustments")
                if any(r not in ("price", "submitted", "lottery") for r in self.tie_break):
                    raise ScoringError("negotiation ties are broken by price, submitted or lottery",
                                       code="negotiation_ties")
            return
        if len(price) != 1:
            raise ScoringError("comprehensive scoring needs exactly one price criterion", code="one_price_criterion")
        total = sum((c.weight for c in price + scored), Fraction(0))
        if total != 100:
            raise ScoringError("weights must sum to 100 points (they sum to %(total)s)", code="weights_sum",
                              total=display(total))

    def _check_adjustments(self) -> None:
        """Unique codes; a rate strictly between -1 and 1; some effect (rate or fen)."""
        acodes = [a.code for a in self.adjustments]
        if len(set(acodes)) != len(acodes):
            raise ScoringError("adjustment codes must be unique", code="adjustment_codes_unique")
        for a in self.adjustments:
            if not _CODE.match(a.code):
                raise ScoringError("adjustment code %(adjustment)r must be lower-case letters, digits, underscores",
                                   code="adjustment_code", adjustment=a.code)
            if not (-1 < a.rate < 1):
                raise ScoringError("adjustment %(adjustment)s: rate must be between -1 and 1", code="adjustment_rate",
                                   adjustment=a.code)
            if a.rate == 0 and a.fen == 0:
                raise ScoringError("adjustment %(adjustment)s: rate or fen must be non-zero", code="adjustment_zero",
                                   adjustment=a.code)

    def _check_limits(self) -> None:
        """The abnormal-low ratio, the price ceiling, the tie-break rules, the candidates, the valid bids needed."""
        if self.abnormal_low_ratio is not None and not (0 < self.abnormal_low_ratio < 1):
            raise ScoringError("abnormal_low_ratio must be between 0 and 1", code="abnormal_low_ratio")
        if self.ceiling_fen is not None and (not isinstance(self.ceiling_fen, int) or self.ceiling_fen <= 0):
            raise ScoringError("ceiling_fen must be a positive integer", code="ceiling")
        for rule in self.tie_break:
            _validate_tie_rule(rule, self)
        if not (1 <= self.max_candidates <= 3):
            raise ScoringError("at most three candidates, at least one", code="max_candidates")
        if self.min_valid < 1:
            raise ScoringError("min_valid must be at least 1", code="min_valid")

    @property
    def price_criterion(self) -> Criterion | None:
        return next((c for c in self.criteria if c.kind == "price"), None)

    @property
    def score_criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == "score")

    @property
    def compliance_criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == "compliance")

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise ScoringError("unknown criterion %(criterion)r", code="unknown_criterion", criterion=code)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Method:
        if not isinstance(data, Mapping):
            raise ScoringError("method must be an object", code="method_object")
        unknown = set(data) - {"kind", "criteria", "adjustments", "drop_extremes", "abnormal_low_ratio",
                               "ceiling_fen", "tie_break", "max_candidates", "min_valid"}
        if unknown:
            raise ScoringError("unknown method fields: %(names)s", code="method_fields", names=", ".join(sorted(unknown)))
        try:
            criteria = tuple(
                Criterion(code=str(c["code"]), kind=str(c["kind"]), name=str(c.get("name", "")),
                          weight=as_fraction(c.get("weight", 0), what=f"criteria[{c.get('code')}].weight"),
                          ground=str(c.get("ground", "non_responsive")))
                for c in data.get("criteria", ()))
            adjustments = tuple(
                AdjustmentRule(code=str(a["code"]), name=str(a.get("name", "")),
                               rate=as_fraction(a.get("rate", 0), what=f"adjustments[{a.get('code')}].rate"),
                               fen=_int(a.get("fen", 0), f"adjustments[{a.get('code')}].fen"))
                for a in data.get("adjustments", ()))
        except (KeyError, TypeError) as exc:
            raise ScoringError("malformed criterion or adjustment: missing %(name)s", code="malformed_criterion",
                              name=exc) from None
        ratio = data.get("abnormal_low_ratio", "4/5")
        ceiling = data.get("ceiling_fen")
        return cls(
            kind=str(data.get("kind", "")), criteria=criteria, adjustments=adjustments,
            drop_extremes=bool(data.get("drop_extremes", False)),
            abnormal_low_ratio=None if ratio is None else as_fraction(ratio, what="abnormal_low_ratio"),
            ceiling_fen=None if ceiling is None else _int(ceiling, "ceiling_fen"),
            tie_break=tuple(str(t) for t in data.get("tie_break", ("price", "lottery"))),
            max_candidates=_int(data.get("max_candidates", 3), "max_candidates"),
            min_valid=_int(data.get("min_valid", 1), "min_valid"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "criteria": [c.to_dict() for c in self.criteria],
            "adjustments": [a.to_dict() for a in self.adjustments],
            "drop_extremes": self.drop_extremes,
            "abnormal_low_ratio": frac_str(self.abnormal_low_ratio),
            "ceiling_fen": self.ceiling_fen,
            "tie_break": list(self.tie_break),
            "max_candidates": self.max_candidates,
            "min_valid": self.min_valid,
        }


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScoringError("%(what)s must be an integer", code="integer", what=what)
    return value


def _validate_tie_rule(rule: str, method: Method | None) -> None:
    if rule in TIE_BREAK_RULES:
        if rule == "technical" and method is not None and method.kind != "comprehensive":
            raise ScoringError("tie-break 'technical' needs comprehensive scoring", code="tie_technical")
        return
    if rule.startswith("criterion:"):
        code = rule.split(":", 1)[1]
        if method is None or not any(c.code == code and c.kind == "score" for c in method.criteria):
            raise ScoringError("tie-break %(rule)r must name a scored criterion", code="tie_criterion", rule=rule)
        return
    raise ScoringError("unknown tie-break rule %(rule)r", code="tie_rule", rule=rule)


# --------------------------------------------------------------------------- inputs / outputs

@dataclass(frozen=True)
class Bid:
    bidder: int
    price_fen: int
    valid: bool = True  # from the opening
    failure_reason: str = ""
    adjustments: Mapping[str, int] = field(default_factory=dict)  # declared code -> times applied
    submitted_seq: int | None = None  # order of submission (for the "submitted" tie-break)


@dataclass(frozen=True)
class Rejection:
    ground: str
    reason: str


@dataclass(frozen=True)
class AbnormalDecision:
    accept: bool
    reason: str


@dataclass(frozen=True)
class Exclusion:
    ground: str
    reason: str
    by: str  # opening | committee | ceiling | compliance | abnormal_low | negotiation

    def to_dict(self) -> dict[str, Any]:
        return {"ground": self.ground, "reason": self.reason, "by": self.by,
                "basis": REJECTION_GROUNDS.get(self.ground) or OTHER_EXCLUSIONS.get(self.ground, "")}


@dataclass(frozen=True)
class Missing:
    expert: int
    bidder: int
    criterion: str
    kind: str  # "vote" | "score"


@dataclass(frozen=True)
class RankedBid:
    bidder: int
    rank: int
    price_fen: int
    evaluated_price: Fraction
    total: Fraction | None = None
    scores: Mapping[str, Fraction] = field(default_factory=dict)
    tie_broken_by: str | None = None
    abnormal_low: bool = False
    abnormal_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bidder": self.bidder, "rank": self.rank, "price_fen": self.price_fen,
            "evaluated_price": frac_str(self.evaluated_price),
            "evaluated_price_display": display(self.evaluated_price / 100),
            "total": frac_str(self.total), "total_display": display(self.total),
            "scores": {k: frac_str(v) for k, v in sorted(self.scores.items())},
            "scores_display": {k: display(v) for k, v in sorted(self.scores.items())},
            "tie_broken_by": self.tie_broken_by,
            "abnormal_low": self.abnormal_low, "abnormal_reason": self.abnormal_reason,
        }


@dataclass(frozen=True)
class Result:
    method: str
    ranking: tuple[RankedBid, ...]
    excluded: Mapping[int, Exclusion]
    flagged: Mapping[int, Fraction]  # abnormally low: bidder -> evaluated price / mean of the others
    pending: tuple[int, ...] = ()  # flagged without a committee decision
    missing: tuple[Missing, ...] = ()
    benchmark: Fraction | None = None
    failed: bool = False
    failure_reason: str = ""
    max_candidates: int = 3

    @property
    def complete(self) -> bool:
        return not self.missing and not self.pending

    @property
    def candidates(self) -> tuple[RankedBid, ...]:
        return () if self.failed else self.ranking[: self.max_candidates]

    def require_complete(self) -> Result:
        if self.pending:
            raise IncompleteEvaluation(
                "the committee must decide on abnormally low bids of bidders %(bidders)s", pending=self.pending,
                code="abnormal_pending", bidders=", ".join(str(b) for b in self.pending))
        if self.missing:
            m = self.missing[0]
            raise IncompleteEvaluation(
                "%(count)s expert input(s) missing, e.g. expert %(expert)s %(kind)s on %(criterion)s for bidder "
                "%(bidder)s", missing=self.missing, code="inputs_missing", count=len(self.missing), expert=m.expert,
                kind=m.kind, criterion=m.criterion, bidder=m.bidder)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ranking": [r.to_dict() for r in self.ranking],
            "candidates": [r.bidder for r in self.candidates],
            "excluded": {str(b): e.to_dict() for b, e in sorted(self.excluded.items())},
            "flagged": {str(b): frac_str(r) for b, r in sorted(self.flagged.items())},
            "pending": list(self.pending),
            "missing": len(self.missing),
            "benchmark": frac_str(self.benchmark),
            "failed": self.failed, "failure_reason": self.failure_reason,
        }


# --------------------------------------------------------------------------- pieces

def lottery_key(seed: bytes, bidder: int) -> bytes:
    """Deterministic, unpredictable-before-the-seed order used by the "lottery" tie-break."""
    return hmac.new(seed, f"sunlight-tie-break/v1|{bidder}".encode(), hashlib.sha256).digest()


def evaluated_price(method: Method, bid: Bid) -> Fraction:
    rules = {a.code: a for a in method.adjustments}
    rate = Fraction(0)
    fen = 0
    for code, count in sorted(bid.adjustments.items()):
        if code not in rules:
            raise ScoringError("bidder %(bidder)s: adjustment %(adjustment)r was not declared in the tender",
                               code="adjustment_undeclared", bidder=bid.bidder, adjustment=code)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ScoringError("bidder %(bidder)s: adjustment %(adjustment)r count must be a positive integer",
                               code="adjustment_count", bidder=bid.bidder, adjustment=code)
        rate += rules[code].rate * count
        fen += rules[code].fen * count
    value = Fraction(bid.price_fen) * (1 + rate) + fen
    if value <= 0:
        raise ScoringError("bidder %(bidder)s: evaluated price must stay positive", code="evaluated_price",
                           bidder=bid.bidder)
    return value


def abnormal_low_flags(prices: Mapping[int, Fraction], ratio: Fraction | None) -> dict[int, Fraction]:
    """Bidders whose evaluated price is below ``ratio ×`` the mean of the other bids' prices.
    Returns bidder -> price / mean-of-others (exact)."""
    if ratio is None or len(prices) < 2:
        return {}
    total = sum(prices.values(), Fraction(0))
    n = len(prices)
    out = {}
    for b, p in prices.items():
        mean_others = (total - p) / (n - 1)
        if p < ratio * mean_others:
            out[b] = p / mean_others
    return out


def _check_bids(bids: Iterable[Bid]) -> list[Bid]:
    out = list(bids)
    seen = set()
    for b in out:
        if isinstance(b.bidder, bool) or not isinstance(b.bidder, int):
            raise ScoringError("bidder ids must be integers", code="bidder_ids")
        if b.bidder in seen:
            raise ScoringError("bidder %(bidder)s appears twice", code="bidder_twice", bidder=b.bidder)
        seen.add(b.bidder)
        if isinstance(b.price_fen, bool) or not isinstance(b.price_fen, int) or b.price_fen <= 0:
            raise ScoringError("bidder %(bidder)s: price must be a positive integer number of fen", code="bid_price",
                               bidder=b.bidder)
    return out


def _check_rejection(bidder: int, r: Rejection) -> None:
    if r.ground not in REJECTION_GROUNDS:
        raise ScoringError(
            "bidder %(bidder)s: %(ground)r is not a ground of 实施条例 art. 51 (allowed: %(grounds)s)",
            code="rejection_ground", bidder=bidder, ground=r.ground, grounds=", ".join(REJECTION_GROUNDS))
    if not r.reason or not r.reason.strip():
        raise ScoringError("bidder %(bidder)s: a rejection needs a recorded reason", code="rejection_reason",
                           bidder=bidder)


def _rank(entries: list[dict[str, Any]], primary: Callable[[dict[str, Any]], Any], tie_break: tuple[str, ...],
          seed: bytes | None) -> list[dict[str, Any]]:
    """Sort entries (dicts with bidder, evaluated_price, technical, scores, submitted_seq)
    by ``primary`` then the declared tie-break rules, then bidder id (always a total order)."""
    rules = list(tie_break)

    def key_for(rule: str, e: dict[str, Any]) -> Any:
        if rule == "price":
            return (e["evaluated_price"], e["price_fen"])
        if rule == "technical":
            return -e["technical"]
        if rule == "submitted":
            s = e.get("submitted_seq")
            return (s is None, s if s is not None else 0)
        if rule == "lottery":
            return lottery_key(seed, e["bidder"]) if seed is not None else b""
        if rule.startswith("criterion:"):
            return -e["scores"][rule.split(":", 1)[1]]
        if rule == "bidder":
            return e["bidder"]
        raise ScoringError("unknown tie-break rule %(rule)r", code="tie_rule", rule=rule)  # pragma: no cover

    chain = rules + ["bidder"]

    def full_key(e: dict[str, Any]) -> tuple[Any, ...]:
        return (primary(e),) + tuple(key_for(r, e) for r in chain)

    ordered = sorted(entries, key=full_key)
    for i, e in enumerate(ordered):
        e["rank"] = i + 1
        e["tie_broken_by"] = None
        if i and primary(ordered[i - 1]) == primary(e):
            prev = ordered[i - 1]
            for r in chain:
                if key_for(r, prev) != key_for(r, e):
                    e["tie_broken_by"] = r
                    break
            if seed is None and "lottery" in rules and e["tie_broken_by"] == "bidder":
                raise ScoringError("a tie must be broken by the lottery, but no lottery seed was given",
                                   code="lottery_seed")
    return ordered


# --------------------------------------------------------------------------- tenders

Key = tuple[int, int, str]  # (expert, bidder, criterion)


def evaluate(
    method: Method,
    bids: Iterable[Bid],
    *,
    experts: Iterable[int],
    votes: Mapping[Key, bool] | None = None,
    scores: Mapping[Key, Any] | None = None,
    rejections: Mapping[int, Rejection] | None = None,
    abnormal_decisions: Mapping[int, AbnormalDecision] | None = None,
    seed: bytes | None = None,
) -> Result:
    """Evaluate a lot.  ``votes[(expert, bidder, criterion)] = passes?`` for compliance criteria,
    ``scores[(expert, bidder, criterion)] = points`` for scored criteria.  Returns a :class:`Result`;
    when inputs are missing or abnormally low bids await a decision, ``result.complete`` is False
    and the ranking is empty."""
    lot_bids = _check_bids(bids)
    committee = sorted(set(experts))
    if not committee:
        raise ScoringError("the committee has no experts", code="no_experts")
    cast_votes = dict(votes or {})
    rejected = dict(rejections or {})
    decisions = dict(abnormal_decisions or {})
    by_id = {b.bidder: b for b in lot_bids}
    # validate the shape of the inputs first: nothing outside the lot, committee or criteria
    _check_votes(method, cast_votes, set(committee), by_id)
    scores_f = _check_scores(method, dict(scores or {}), set(committee), by_id)
    _check_decisions(rejected, decisions, by_id)

    missing: list[Missing] = []
    excluded = _excluded_before_compliance(method, lot_bids, rejected)  # 1.-3.
    _apply_compliance(method, lot_bids, committee, cast_votes, excluded, missing)  # 4.
    # 5. evaluated prices of the bids still in
    remaining = [b for b in lot_bids if b.bidder not in excluded]
    prices = {b.bidder: evaluated_price(method, b) for b in remaining}
    # 6. abnormally low: flag, the committee decides
    flagged = abnormal_low_flags(prices, method.abnormal_low_ratio) if not missing else {}
    pending, accepted_low = _apply_abnormal_decisions(flagged, decisions, excluded, check=not missing)
    remaining = [b for b in remaining if b.bidder not in excluded]
    # 7. scores for the remaining bids
    committee_scores = _committee_scores(method, remaining, committee, scores_f, missing)

    if missing or pending:
        return Result(method=method.kind, ranking=(), excluded=excluded, flagged=flagged, pending=pending,
                      missing=tuple(missing), max_candidates=method.max_candidates)
    # 8. rank
    benchmark = min(prices[b.bidder] for b in remaining) if remaining else None
    ranking = _rank_tender(method, remaining, prices, committee_scores, benchmark, accepted_low, seed)
    failed = len(ranking) < method.min_valid
    return Result(method=method.kind, ranking=ranking, excluded=excluded, flagged=flagged,
                  benchmark=benchmark, failed=failed, max_candidates=method.max_candidates,
                  failure_reason=(f"only {len(ranking)} valid bid(s), at least {method.min_valid} required"
                                  if failed else ""))


def _check_voter(expert: int, bidder: int, experts: set[int], by_id: Mapping[int, Bid]) -> None:
    if expert not in experts:
        raise ScoringError("expert %(expert)s is not on this committee", code="not_on_committee", expert=expert)
    if bidder not in by_id:
        raise ScoringError("bidder %(bidder)s has no bid in this lot", code="no_bid", bidder=bidder)


def _check_votes(method: Method, votes: Mapping[Key, object], experts: set[int], by_id: Mapping[int, Bid]) -> None:
    for (e, b, c), v in votes.items():
        _check_voter(e, b, experts, by_id)
        if method.criterion(c).kind != "compliance":
            raise ScoringError("criterion %(criterion)s is not a pass/fail criterion", code="not_compliance",
                               criterion=c)
        if not isinstance(v, bool):
            raise ScoringError("a compliance vote is true (pass) or false (fail)", code="vote_bool")


def _check_scores(method: Method, raw: Mapping[Key, Any], experts: set[int],
                  by_id: Mapping[int, Bid]) -> dict[Key, Fraction]:
    scores_f: dict[Key, Fraction] = {}
    for (e, b, c), v in raw.items():
        _check_voter(e, b, experts, by_id)
        crit = method.criterion(c)
        if crit.kind != "score":
            raise ScoringError("criterion %(criterion)s is not scored by the experts", code="not_scored",
                               criterion=c)
        s = as_fraction(v, what=f"scores[{c}]")
        if not (0 <= s <= crit.weight):
            raise ScoringError("score %(score)s for %(criterion)s is outside 0–%(weight)s", code="score_range",
                               score=display(s), criterion=c, weight=display(crit.weight))
        scores_f[(e, b, c)] = s
    return scores_f


def _check_decisions(rejections: Mapping[int, Rejection], decisions: Mapping[int, AbnormalDecision],
                     by_id: Mapping[int, Bid]) -> None:
    for b, r in rejections.items():
        if b not in by_id:
            raise ScoringError("bidder %(bidder)s has no bid in this lot", code="no_bid", bidder=b)
        _check_rejection(b, r)
    for b, d in decisions.items():
        if b not in by_id:
            raise ScoringError("bidder %(bidder)s has no bid in this lot", code="no_bid", bidder=b)
        if not d.reason or not d.reason.strip():
            raise ScoringError("bidder %(bidder)s: the committee's decision on an abnormally low bid needs a reason",
                               code="abnormal_reason", bidder=b)


def _excluded_before_compliance(method: Method, bids: list[Bid],
                                rejections: Mapping[int, Rejection]) -> dict[int, Exclusion]:
    excluded: dict[int, Exclusion] = {}
    # 1. the opening
    for bid in bids:
        if not bid.valid:
            excluded[bid.bidder] = Exclusion("opening_invalid", bid.failure_reason or "invalid at opening",
                                             "opening")
    # 2. committee rejections on art. 51 grounds
    for bidder, r in sorted(rejections.items()):
        if bidder not in excluded:
            excluded[bidder] = Exclusion(r.ground, r.reason.strip(), "committee")
    # 3. the ceiling price (最高投标限价)
    if method.ceiling_fen is not None:
        for bid in bids:
            if bid.bidder not in excluded and bid.price_fen > method.ceiling_fen:
                excluded[bid.bidder] = Exclusion(
                    "above_ceiling", f"price {bid.price_fen} fen above the ceiling {method.ceiling_fen} fen",
                    "ceiling")
    return excluded


def _apply_compliance(method: Method, bids: list[Bid], experts: list[int], votes: Mapping[Key, bool],
                      excluded: dict[int, Exclusion], missing: list[Missing]) -> None:
    """4. compliance: the majority of the committee per criterion; a missing vote is recorded."""
    for bid in bids:
        if bid.bidder in excluded:
            continue
        for crit in method.compliance_criteria:
            cast = [votes.get((e, bid.bidder, crit.code)) for e in experts]
            for e, v in zip(experts, cast):
                if v is None:
                    missing.append(Missing(e, bid.bidder, crit.code, "vote"))
            if any(v is None for v in cast):
                continue
            passes = sum(1 for v in cast if v)
            if 2 * passes <= len(cast):
                excluded[bid.bidder] = Exclusion(
                    crit.ground, f"failed {crit.name or crit.code} ({passes} of {len(cast)} experts passed)",
                    "compliance")
                break


def _apply_abnormal_decisions(flagged: Mapping[int, Fraction], decisions: Mapping[int, AbnormalDecision],
                              excluded: dict[int, Exclusion], *, check: bool) -> tuple[tuple[int, ...], dict[int, str]]:
    """6. the committee's decisions on flagged bids: (still pending, accepted with their reasons)."""
    for b in decisions:
        if b not in flagged and check:
            raise ScoringError("bidder %(bidder)s's bid is not flagged as abnormally low", code="not_abnormal",
                               bidder=b)
    pending = tuple(sorted(b for b in flagged if b not in decisions))
    accepted_low: dict[int, str] = {}
    for b in sorted(flagged):
        d = decisions.get(b)
        if d is None:
            continue
        if d.accept:
            accepted_low[b] = d.reason.strip()
        else:
            excluded[b] = Exclusion("below_cost", d.reason.strip(), "abnormal_low")
    return pending, accepted_low


def _committee_scores(method: Method, bids: list[Bid], experts: list[int], scores: Mapping[Key, Fraction],
                      missing: list[Missing]) -> dict[int, dict[str, Fraction]]:
    """7. the committee's score per bid and scored criterion (mean of the experts'); missing recorded."""
    committee: dict[int, dict[str, Fraction]] = {}
    for bid in bids:
        committee[bid.bidder] = {}
        for crit in method.score_criteria:
            given = [scores.get((e, bid.bidder, crit.code)) for e in experts]
            present = [v for v in given if v is not None]
            for e, v in zip(experts, given):
                if v is None:
                    missing.append(Missing(e, bid.bidder, crit.code, "score"))
            if len(present) == len(given):
                committee[bid.bidder][crit.code] = committee_mean(present, drop_extremes=method.drop_extremes)
    return committee


def _rank_tender(method: Method, bids: list[Bid], prices: Mapping[int, Fraction],
                 committee: Mapping[int, dict[str, Fraction]], benchmark: Fraction | None,
                 accepted_low: Mapping[int, str], seed: bytes | None) -> tuple[RankedBid, ...]:
    """8. totals (the price criterion against the benchmark) and the ranking with its tie-break."""
    entries: list[dict[str, Any]] = []
    for bid in bids:
        sc = dict(committee[bid.bidder])
        total = None
        technical = sum(sc.values(), Fraction(0))
        if method.kind == "comprehensive":
            pc = method.price_criterion
            assert pc is not None and benchmark is not None  # Method checks a comprehensive one has it
            sc[pc.code] = pc.weight * benchmark / prices[bid.bidder]
            total = sum(sc.values(), Fraction(0))
        entries.append(dict(bidder=bid.bidder, price_fen=bid.price_fen, evaluated_price=prices[bid.bidder],
                            scores=sc, total=total, technical=technical, submitted_seq=bid.submitted_seq))
    primary: Callable[[dict[str, Any]], Any]
    if method.kind == "comprehensive":
        primary = lambda e: -e["total"]  # noqa: E731
    else:
        primary = lambda e: e["evaluated_price"]  # noqa: E731
    ordered = _rank(entries, primary, method.tie_break, seed)
    return tuple(
        RankedBid(bidder=e["bidder"], rank=e["rank"], price_fen=e["price_fen"],
                  evaluated_price=e["evaluated_price"], total=e["total"], scores=e["scores"],
                  tie_broken_by=e["tie_broken_by"], abnormal_low=e["bidder"] in accepted_low,
                  abnormal_reason=accepted_low.get(e["bidder"], ""))
        for e in ordered)


# --------------------------------------------------------------------------- negotiation / inquiry

@dataclass(frozen=True)
class Quote:
    supplier: int
    round: int
    price_fen: int
    submitted_seq: int | None = None


def check_quote(*, previous: Iterable[Quote], supplier: int, round: int, price_fen: int,
                current_round: int, non_increasing: bool = True) -> None:
    """Validate one new quote against the supplier's earlier ones (raises ScoringError)."""
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or price_fen <= 0:
        raise ScoringError("a quote must be a positive integer number of fen", code="quote_price")
    if round != current_round:
        raise ScoringError("quotes are accepted for round %(round)s only", code="quote_round", round=current_round)
    mine = [q for q in previous if q.supplier == supplier]
    if any(q.round == round for q in mine):
        raise ScoringError("supplier %(supplier)s has already quoted in round %(round)s", code="quoted_already",
                           supplier=supplier, round=round)
    if non_increasing and mine:
        last = max(mine, key=lambda q: q.round)
        if price_fen > last.price_fen:
            raise ScoringError("a later quote may not exceed the earlier one (%(previous)s)", code="quote_higher",
                               previous_fen=last.price_fen)


def negotiate(
    *,
    suppliers: Iterable[int],
    quotes: Iterable[Quote],
    final_round: int,
    rejections: Mapping[int, Rejection] | None = None,
    ceiling_fen: int | None = None,
    tie_break: tuple[str, ...] = ("submitted", "lottery"),
    seed: bytes | None = None,
    max_candidates: int = 3,
    min_valid: int = 1,
    non_increasing: bool = True,
) -> Result:
    """Competitive negotiation (竞争性谈判) / inquiry (询价, ``final_round=1``): the quote of each
    invited supplier in the final round is its final quote; the lowest valid final quote wins."""
    suppliers = sorted(set(suppliers))
    if final_round < 1:
        raise ScoringError("there must be at least one round", code="rounds")
    for rule in tie_break:
        if rule not in ("price", "submitted", "lottery"):
            raise ScoringError("tie-break %(rule)r is not available for negotiation", code="negotiation_tie",
                               rule=rule)
    rejections = dict(rejections or {})
    invited = set(suppliers)
    history: list[Quote] = []
    for q in sorted(quotes, key=lambda q: (q.round, q.submitted_seq or 0, q.supplier)):
        if q.supplier not in invited:
            raise ScoringError("supplier %(supplier)s was not invited", code="not_invited", supplier=q.supplier)
        if not (1 <= q.round <= final_round):
            raise ScoringError("round %(round)s is outside 1–%(final_round)s", code="round_range", round=q.round,
                               final_round=final_round)
        check_quote(previous=history, supplier=q.supplier, round=q.round, price_fen=q.price_fen,
                    current_round=q.round, non_increasing=non_increasing)
        history.append(q)
    for b, r in rejections.items():
        if b not in invited:
            raise ScoringError("supplier %(supplier)s was not invited", code="not_invited", supplier=b)
        _check_rejection(b, r)
    excluded: dict[int, Exclusion] = {}
    finals: dict[int, Quote] = {}
    for s in suppliers:
        final = next((q for q in history if q.supplier == s and q.round == final_round), None)
        if s in rejections:
            excluded[s] = Exclusion(rejections[s].ground, rejections[s].reason.strip(), "committee")
        elif final is None:
            excluded[s] = Exclusion("no_final_quote", f"no quote in round {final_round}", "negotiation")
        elif ceiling_fen is not None and final.price_fen > ceiling_fen:
            excluded[s] = Exclusion("above_ceiling",
                                    f"final quote {final.price_fen} fen above the budget {ceiling_fen} fen", "ceiling")
        else:
            finals[s] = final
    entries: list[dict[str, Any]] = [
        dict(bidder=s, price_fen=q.price_fen, evaluated_price=Fraction(q.price_fen), scores={},
             total=None, technical=Fraction(0), submitted_seq=q.submitted_seq)
        for s, q in finals.items()]
    ordered = _rank(entries, lambda e: e["evaluated_price"], tuple(tie_break), seed)
    ranking = tuple(RankedBid(bidder=e["bidder"], rank=e["rank"], price_fen=e["price_fen"],
                              evaluated_price=e["evaluated_price"], tie_broken_by=e["tie_broken_by"])
                    for e in ordered)
    failed = len(ranking) < min_valid
    return Result(method="negotiation", ranking=ranking, excluded=excluded, flagged={},
                  benchmark=min((e["evaluated_price"] for e in entries), default=None),
                  failed=failed, max_candidates=max_candidates,
                  failure_reason=(f"only {len(ranking)} valid final quote(s), at least {min_valid} required"
                                  if failed else ""))
