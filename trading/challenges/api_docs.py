"""OpenAPI response shapes of the cases API (documentation only: the views build their answers)."""
from __future__ import annotations

from trading.schema import anything, boolean, integer, listof, mapping, shape, text


def _case_fields(private: bool) -> dict:
    fields = {
        "number": text(), "kind": text(), "kind_label": text(), "project": integer(allow_null=True),
        "lot": integer(allow_null=True), "subject": text(), "status": text(help_text="filed | accepted | answered | "
                                                                             "refused | decided | withdrawn"),
        "filed_at": text(help_text="UTC, ISO 8601"), "clock": text(help_text="answer | accept | decide | none"),
        "due_at": text(allow_null=True, help_text="the running clock's deadline (UTC); null past the known calendar"),
        "calendar_unknown": boolean(), "seconds_left": integer(allow_null=True), "late": boolean(),
        "extended": boolean(), "outcome": text(allow_blank=True), "remedy": text(allow_blank=True),
        "ground": text(allow_blank=True), "ground_text": text(allow_blank=True),
        "answer": text(allow_blank=True, help_text="personal details removed"),
        "closed_at": text(allow_null=True), "basis": text(help_text="the article the running clock comes from"),
        "attachments": listof(mapping()),
    }
    if private:
        fields.update(text=text(), known_on=text(allow_null=True), follows=text(allow_null=True),
                      extension_reason=text(allow_blank=True), filer_org=integer(allow_null=True),
                      remedies=listof(text(), help_text="the remedies of the kind that fit the lot (tender: "
                                                         "reevaluate, retender, cancel_award; auction or listing: "
                                                         "retender, cancel_award); none without a lot"),
                      token=text(required=False, help_text="a public filer's follow-up code, returned once"))
    return fields


def case(many: bool = False):
    return shape("Case", _case_fields(True), many=many)


PUBLISHED_CASE = shape("PublishedCase", _case_fields(False), many=True)
SUSPENSION = shape("Suspension", {
    "project": integer(), "case": text(allow_null=True), "reason": text(), "basis": text(allow_blank=True),
    "started_at": text(), "limit_at": text(allow_null=True), "lifted_at": text(allow_null=True)})
PUBLISHED = shape("ProjectCases", {"suspension": SUSPENSION.__class__(allow_null=True), "cases": PUBLISHED_CASE})
RULES = shape("CaseRule", {
    "kind": text(), "label": listof(text()), "family": text(), "filers": listof(text()),
    "project_kinds": listof(text()), "window_basis": text(), "answer": mapping(allow_null=True),
    "accept": mapping(allow_null=True), "decide": mapping(allow_null=True), "extension": mapping(allow_null=True),
    "know_within": mapping(allow_null=True), "blocks": listof(text()), "remedies": listof(text()),
    "suspension_max_days": integer(allow_null=True)}, many=True)
REPORT = shape("OpennessReport", {
    "year": integer(), "basis": text(), "generated_at": text(), "overview": text(), "proactive": anything(),
    "requests": anything(), "reviews_and_lawsuits": anything(), "problems": listof(text()), "trading": anything()})
