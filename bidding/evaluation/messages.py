"""What the evaluation's pure modules say to people, translatable: the scoring rules (bidding/evaluation/scoring.py,
``ScoringError.code``) and the committee draw (draw.py, ``DrawError.code``). The pure modules keep their English for
logs; the services answer with these (``trading.errors.translated``) in the request's language. Amounts in fen are
named by the one money formatter (``previous_fen`` → ``%(previous)s``).
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# ScoringError.code → message
SCORING: dict[str, Any] = {
    "number": _("%(what)s: %(value)r is not a number"),
    "tie_rule": _("unknown tie-break rule %(rule)r"),
    "number_float": _("%(what)s: %(value)r is not allowed (use an integer or a decimal string)"),
    "no_scores": _("no scores to average"),
    "unknown_criterion": _("unknown criterion %(criterion)r"),
    "integer": _("%(what)s must be an integer"),
    "evaluated_price": _("bidder %(bidder)s: evaluated price must stay positive"),
    "rejection_ground": _("bidder %(bidder)s: %(ground)r is not a ground of 实施条例 art. 51 (allowed: %(grounds)s)"),
    "rejection_reason": _("bidder %(bidder)s: a rejection needs a recorded reason"),
    "no_experts": _("the committee has no experts"),
    "not_on_committee": _("expert %(expert)s is not on this committee"),
    "no_bid": _("bidder %(bidder)s has no bid in this lot"),
    "quote_price": _("a quote must be a positive integer number of fen"),
    "quote_round": _("quotes are accepted for round %(round)s only"),
    "quoted_already": _("supplier %(supplier)s has already quoted in round %(round)s"),
    "rounds": _("there must be at least one round"),
    "number_finite": _("%(what)s: %(value)r is not a finite number"),
    "method_kind": _("unknown evaluation method %(kind)r (expected one of %(kinds)s)"),
    "criterion_codes_unique": _("criterion codes must be unique"),
    "one_price_criterion": _("comprehensive scoring needs exactly one price criterion"),
    "weights_sum": _("weights must sum to 100 points (they sum to %(total)s)"),
    "adjustment_codes_unique": _("adjustment codes must be unique"),
    "abnormal_low_ratio": _("abnormal_low_ratio must be between 0 and 1"),
    "ceiling": _("ceiling_fen must be a positive integer"),
    "max_candidates": _("at most three candidates, at least one"),
    "min_valid": _("min_valid must be at least 1"),
    "method_object": _("method must be an object"),
    "method_fields": _("unknown method fields: %(names)s"),
    "tie_technical": _("tie-break 'technical' needs comprehensive scoring"),
    "tie_criterion": _("tie-break %(rule)r must name a scored criterion"),
    "abnormal_pending": _("the committee must decide on abnormally low bids of bidders %(bidders)s"),
    "inputs_missing": _("%(count)s expert input(s) missing, e.g. expert %(expert)s %(kind)s on %(criterion)s for "
                        "bidder %(bidder)s"),
    "adjustment_undeclared": _("bidder %(bidder)s: adjustment %(adjustment)r was not declared in the tender"),
    "adjustment_count": _("bidder %(bidder)s: adjustment %(adjustment)r count must be a positive integer"),
    "bidder_ids": _("bidder ids must be integers"),
    "bidder_twice": _("bidder %(bidder)s appears twice"),
    "bid_price": _("bidder %(bidder)s: price must be a positive integer number of fen"),
    "not_compliance": _("criterion %(criterion)s is not a pass/fail criterion"),
    "vote_bool": _("a compliance vote is true (pass) or false (fail)"),
    "not_scored": _("criterion %(criterion)s is not scored by the experts"),
    "score_range": _("score %(score)s for %(criterion)s is outside 0–%(weight)s"),
    "abnormal_reason": _("bidder %(bidder)s: the committee's decision on an abnormally low bid needs a reason"),
    "not_abnormal": _("bidder %(bidder)s's bid is not flagged as abnormally low"),
    "quote_higher": _("a later quote may not exceed the earlier one (%(previous)s)"),
    "negotiation_tie": _("tie-break %(rule)r is not available for negotiation"),
    "not_invited": _("supplier %(supplier)s was not invited"),
    "round_range": _("round %(round)s is outside 1–%(final_round)s"),
    "criterion_code": _("criterion code %(criterion)r must be lower-case letters, digits, underscores"),
    "criterion_kind": _("criterion %(criterion)s: unknown kind %(kind)r"),
    "compliance_only": _("the %(kind)s method takes compliance criteria only"),
    "adjustment_code": _("adjustment code %(adjustment)r must be lower-case letters, digits, underscores"),
    "adjustment_rate": _("adjustment %(adjustment)s: rate must be between -1 and 1"),
    "adjustment_zero": _("adjustment %(adjustment)s: rate or fen must be non-zero"),
    "malformed_criterion": _("malformed criterion or adjustment: missing %(name)s"),
    "lottery_seed": _("a tie must be broken by the lottery, but no lottery seed was given"),
    "criterion_ground": _("criterion %(criterion)s: %(ground)r is not a ground of 实施条例 art. 51"),
    "criterion_weight": _("criterion %(criterion)s: weight must be positive"),
    "negotiation_adjustments": _("negotiation compares final quotes: no price adjustments"),
    "negotiation_ties": _("negotiation ties are broken by price, submitted or lottery"),
}

# DrawError.code → message
DRAW: dict[str, Any] = {
    "seed": _("the seed must be at least 16 bytes"),
    "committee_size": _("the committee must have an odd number of members, at least %(minimum)s (got %(size)s)"),
    "representatives": _("the number of tenderee representatives must be a non-negative integer"),
    "two_thirds": _("pool experts must be at least two thirds of the committee: %(experts)s of %(size)s is too few"),
    "too_few_experts": _("only %(eligible)s eligible expert(s) for %(seats)s seat(s)"),
    "expert_twice": _("expert %(expert)s appears twice in the pool"),
}

# the kind of a missing expert input (``scoring.Missing.kind``), named in ``inputs_missing``
INPUT_KINDS: dict[str, Any] = {"vote": _("vote"), "score": _("score")}


def missing_kind(exc: Any) -> dict[str, Any]:
    """The extra parameters of an IncompleteEvaluation's message: its input kind in words of the language."""
    kind = getattr(exc, "params", {}).get("kind")
    return {"kind": INPUT_KINDS[kind]} if kind in INPUT_KINDS else {}
