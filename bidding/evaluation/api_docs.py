"""OpenAPI response shapes of the evaluation API (documentation only: the views build their answers)."""
from __future__ import annotations

from trading.schema import anything, boolean, day, integer, listof, mapping, money, moment, shape, text


def candidate(many: bool = False):
    return shape("EvaluationCandidate", {
        "id": integer(help_text="the candidate's id"),
        "rank": integer(), "bidder": integer(help_text="the bidder organisation's id"), "name": text(),
        "price": money(), "total": text(allow_null=True, help_text="the score total (points, not money)"), "status": text(),
        "status_reason": text(allow_blank=True)}, many=many)


def award():
    return shape("EvaluationAward", {
        "id": integer(), "bidder": integer(), "name": text(), "rank": integer(), "price": money(), "status": text(),
        "awarded_at": moment(allow_null=True), "contract_due": moment(allow_null=True),
        "contract": anything(allow_null=True, help_text="{signed_on, amount, documents, deposit_mode} once signed")})


def method():
    return shape("EvaluationMethod", {
        "kind": text(), "criteria": listof(mapping()),
        "adjustments": listof(shape("PriceAdjustment", {"code": text(), "name": text(allow_blank=True),
                                                         "rate": text(help_text="a fraction, e.g. \"1/100\""),
                                                         "amount": money(help_text="a fixed amount added")})), "drop_extremes": boolean(),
        "abnormal_low_ratio": text(allow_null=True),
        "ceiling": money(allow_null=True, help_text="the price ceiling (最高限价), if any"),
        "tie_break": listof(text()), "max_candidates": integer(), "min_valid": integer()})


EXPERT_LIST = shape("Expert", {"id": integer(), "name": text(), "organisation": integer(), "specialities": listof(text()),
                               "region": text(allow_blank=True), "available": boolean(), "pool": boolean()}, many=True)
EXPERT_CREATED = shape("ExpertCreated", {"id": integer(), "name": text()})
DRAW_COMMITTED = shape("DrawCommitted", {"commitment": text(), "size": integer(), "eligible": anything()})
DRAW_REVEALED = shape("DrawRevealed", {"seed": text(), "commitment": text(), "order": anything(), "members": anything()})
COMMITTEE = shape("Committee", {
    "size": integer(), "representatives": anything(), "commitment": text(), "revealed": boolean(),
    "seed": text(allow_null=True), "eligible": anything(), "order": anything(),
    "members": listof(shape("CommitteeMember", {"id": integer(help_text="the expert's id"), "expert": integer(),
                                                "name": text(), "kind": text(), "active": boolean(),
                                                "recused_reason": text(allow_blank=True)})),
    "committed_at": moment(allow_null=True), "revealed_at": moment(allow_null=True)})
CREATED_ID = shape("CreatedId", {"id": integer()})
EVALUATION_STARTED = shape("EvaluationStarted", {"evaluation": integer(), "round": integer()})
WORKSPACE = shape("EvaluationWorkspace", {
    "lot": integer(), "evaluation": integer(allow_null=True), "round": integer(allow_null=True),
    "status": text(allow_null=True), "criteria": listof(anything()), "bids": listof(mapping())})
SHEET = shape("EvaluationSheetSaved", {"lot": integer(), "evaluation": integer(), "expert": integer(), "bidder": integer(),
                                       "votes": mapping(child=boolean()), "scores": mapping(child=text())})
REVIEW = shape("EvaluationReview", {"bidder": integer(), "adjustments": anything(allow_null=True),
                                    "rejection_ground": text(allow_null=True, allow_blank=True),
                                    "abnormal_accept": boolean(allow_null=True)})
EVALUATION = shape("EvaluationState", {
    "evaluation": integer(), "round": integer(), "status": text(), "report": anything(allow_null=True),
    "candidates": candidate(many=True), "progress": anything(required=False)})
REPORT = shape("EvaluationReport", {"evaluation": integer(), "failed": boolean(), "candidates": candidate(many=True)})
PUBLICITY = shape("CandidatePublicity", {
    "publicity": shape("Publicity", {"notice": text(), "starts_at": moment(allow_null=True), "ends_at": moment(allow_null=True),
                                     "days": integer(), "late": boolean()}, allow_null=True),
    "candidates": candidate(many=True)})
REFUSAL = shape("AwardRefused", {"next_award": anything(allow_null=True, help_text="the next award (EvaluationAward) or null")})
CONTRACT = shape("ContractRecorded", {"contract": integer(), "signed_on": day(), "amount": money(), "deposit_mode": text(),
                                      "award": anything(allow_null=True)})
QUOTE_ROUND = shape("QuoteRound", {"round": integer()})
QUOTE = shape("QuoteSubmitted", {"round": integer(), "price": money()})
GROUNDS = {"type": "object", "additionalProperties": {"type": "string"},
           "description": "rejection ground code → its legal basis (实施条例 art. 51)"}
