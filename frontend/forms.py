from __future__ import annotations

from django import forms

from trading.errors import Invalid
from trading.models import Organisation
from trading.money import parse_money
from trading.rules import KINDS, METHODS


class MoneyFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return 0
        try:
            return parse_money(value, field=self.label or "amount")
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from None


DT = {"widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}


class ProjectForm(forms.Form):
    title = forms.CharField(max_length=300)
    kind = forms.ChoiceField(choices=[(k, f"{v[0]} {v[1]}") for k, v in KINDS.items()])
    method = forms.ChoiceField(choices=[(k, f"{v[0]} {v[1]}") for k, v in METHODS.items()])
    owner = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="tenderee"))
    agent = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="agent"), required=False)
    supervisor = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="supervisor"))
    region = forms.CharField(max_length=100)
    budget = MoneyFormField(label="budget", help_text="yuan, e.g. 1234.56")
    state_funded = forms.BooleanField(required=False, initial=True)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class LotForm(forms.Form):
    title = forms.CharField(max_length=300, required=False)
    estimate = MoneyFormField(label="estimate", required=False)
    security = MoneyFormField(label="security", required=False)
    increment = MoneyFormField(label="increment", required=False)
    bid_deadline = forms.DateTimeField(required=False, **DT)
    doc_start = forms.DateTimeField(required=False, **DT)
    doc_end = forms.DateTimeField(required=False, **DT)
    auction_start = forms.DateTimeField(required=False, **DT)
    listing_start = forms.DateTimeField(required=False, **DT)
    listing_end = forms.DateTimeField(required=False, **DT)
    closing_rule = forms.ChoiceField(choices=[("", "—"), ("countdown", "限时竞价 countdown"), ("soft_close", "延时 soft close")], required=False)
    evaluation_method = forms.ChoiceField(choices=[("", "—"), ("lowest_evaluated_price", "经评审的最低投标价法"),
                                                   ("comprehensive", "综合评估法"), ("lowest_quote", "最低报价")], required=False)
    eligibility = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="one condition per line")

    def has_lot(self) -> bool:
        return bool(self.cleaned_data.get("title"))


LotFormSet = forms.formset_factory(LotForm, extra=2, max_num=10)


class AmendmentForm(forms.Form):
    kind = forms.ChoiceField(choices=[("amendment", "变更 amendment"), ("clarification", "澄清 clarification")])
    title = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    new_bid_deadline = forms.DateTimeField(required=False, **DT)


class DocumentForm(forms.Form):
    file = forms.FileField()
    access = forms.ChoiceField(choices=[("public", "public 公开"), ("registered", "registered bidders 报名投标人")])


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


def apply_domain_error(form: forms.Form, exc: Invalid) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)
