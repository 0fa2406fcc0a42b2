from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
            return parse_money(value, field=str(self.label or "amount"))  # a lazy label, rendered now
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from None


DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _kinds():
    from frontend.templatetags.sunlight import in_language

    return [(k, in_language(v)) for k, v in KINDS.items()]


def _methods():
    from frontend.templatetags.sunlight import in_language

    return [(k, in_language(v)) for k, v in METHODS.items()]


class ProjectForm(forms.Form):
    title = forms.CharField(max_length=300, label=_("Title"))
    kind = forms.ChoiceField(choices=_kinds, label=_("Project kind"))
    method = forms.ChoiceField(choices=_methods, label=_("Method"))
    owner = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="tenderee"), label=_("Owner"))
    agent = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="agent"), required=False, label=_("Agent"))
    supervisor = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind="supervisor"), label=_("Supervised by"))
    region = forms.CharField(max_length=100, label=_("Region"))
    budget = MoneyFormField(label=_("Budget / starting price"), help_text=_("yuan, e.g. 1234.56"))
    state_funded = forms.BooleanField(required=False, initial=True, label=_("State-funded"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description"))


class LotForm(forms.Form):
    title = forms.CharField(max_length=300, required=False, label=_("Title"))
    estimate = MoneyFormField(label=_("Estimate / starting price"), required=False)
    security = MoneyFormField(label=_("Security"), required=False)
    increment = MoneyFormField(label=_("Increment"), required=False)
    bid_deadline = forms.DateTimeField(required=False, label=_("Bid deadline"), widget=DATETIME_WIDGET)
    doc_start = forms.DateTimeField(required=False, label=_("documents from"), widget=DATETIME_WIDGET)
    doc_end = forms.DateTimeField(required=False, label=_("documents until"), widget=DATETIME_WIDGET)
    auction_start = forms.DateTimeField(required=False, label=_("auction start"), widget=DATETIME_WIDGET)
    listing_start = forms.DateTimeField(required=False, label=_("listing start"), widget=DATETIME_WIDGET)
    listing_end = forms.DateTimeField(required=False, label=_("listing end"), widget=DATETIME_WIDGET)
    closing_rule = forms.ChoiceField(choices=[("", "—"), ("countdown", _("countdown")), ("soft_close", _("soft close"))],
                                     required=False, label=_("Closing rule"))
    evaluation_method = forms.ChoiceField(choices=[("", "—"), ("lowest_evaluated_price", _("lowest evaluated price")),
                                                   ("comprehensive", _("comprehensive evaluation")), ("lowest_quote", _("lowest quote"))],
                                          required=False, label=_("Evaluation method"))
    eligibility = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Eligibility"),
                                  help_text=_("one condition per line"))

    def has_lot(self) -> bool:
        return bool(self.cleaned_data.get("title"))


LotFormSet = forms.formset_factory(LotForm, extra=2, max_num=10)


class AmendmentForm(forms.Form):
    kind = forms.ChoiceField(choices=[("amendment", _("amendment")), ("clarification", _("clarification"))], label=_("Kind"))
    title = forms.CharField(max_length=300, label=_("Title"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("Text"))
    new_bid_deadline = forms.DateTimeField(required=False, label=_("New bid deadline"), widget=DATETIME_WIDGET)


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File"))
    access = forms.ChoiceField(choices=[("public", _("anyone")), ("registered", _("registered bidders during the document period"))],
                               label=_("Who may download it"))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))


def apply_domain_error(form: forms.Form, exc: Invalid) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)
