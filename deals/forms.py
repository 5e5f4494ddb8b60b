"""Forms of the deal pages: create/edit, and the stage move of the board and the deal page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.forms import (
    ORGANIZATION,
    UserChoiceField,
    active_users,
    limit_picker,
    picker_queryset,
    tag_queryset,
)
from contacts.models import Contact
from crm.custom_fields import CustomFieldsMixin
from crm.models import CrmSettings, Scope, User
from deals.models import (
    Deal,
    DealUnqualifiedReason,
    LossReason,
    Stage,
    StageCategory,
)

OUTCOMES = {
    "won": StageCategory.WON,
    "lost": StageCategory.LOST,
    "unqualified": StageCategory.UNQUALIFIED,
}


class MoveForm(forms.Form):
    """Move a deal: to a stage picked in the select, or to its pipeline's first won/lost stage
    (the Won / Lost buttons send ``outcome``)."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)
    outcome = forms.ChoiceField(choices=[(k, k) for k in OUTCOMES], required=False)
    loss_reason = forms.ModelChoiceField(
        queryset=LossReason.objects.all(), required=False, label=_("Loss reason")
    )
    unqualified_reason = forms.ModelChoiceField(
        queryset=DealUnqualifiedReason.objects.all(), required=False, label=_("Unqualified reason")
    )

    # Sent by the board's drag and drop: the stage the card was dragged from (a deal moved by
    # someone else meanwhile is refused), and the target column's cards in their new order.
    from_stage = forms.IntegerField(required=False, widget=forms.HiddenInput)
    order = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, deal: Deal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deal = deal
        stage_field: forms.ModelChoiceField[Any] = self.fields["stage"]  # type: ignore[assignment]
        stage_field.queryset = Stage.objects.filter(pipeline_id=deal.stage.pipeline_id)

    def clean_order(self) -> list[int]:
        raw = self.cleaned_data.get("order") or ""
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("The order of the cards could not be read.")) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        outcome = data.get("outcome")
        if outcome:
            stage = (
                Stage.objects.filter(
                    pipeline_id=self.deal.stage.pipeline_id, category=OUTCOMES[outcome]
                )
                .order_by("position")
                .first()
            )
            if stage is None:
                raise forms.ValidationError(_("This pipeline has no such stage."))
            data["stage"] = stage
        elif not data.get("stage") and not self.has_error("stage"):
            self.add_error("stage", _("Choose a stage."))
        return data


class DealForm(CustomFieldsMixin, forms.ModelForm):
    """Create or edit a deal. The main contact is always one of its contacts; a stage change of
    an existing deal goes through ``deal_move_stage`` (permissions, loss reason, statuses)."""

    custom_scope = "deal"
    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(),
        required=False,
        label=_("Other contacts"),
        help_text=_("Untick to remove a contact from the deal."),
        widget=forms.CheckboxSelectMultiple,
    )
    add_contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label=_("Add a contact")
    )

    class Meta:
        model = Deal
        fields = [
            "name",
            "value",
            "currency",
            "stage",
            "main_contact",
            "organization",
            "owner",
            "expected_close_date",
            "source",
            "tags",
        ]
        widgets = {
            "tags": forms.CheckboxSelectMultiple,
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "value": forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
            "currency": forms.TextInput(
                attrs={"size": 3, "maxlength": 3, "autocapitalize": "characters"}
            ),
        }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        deal: Deal = self.instance
        editing = deal.pk is not None
        if not editing:
            self.initial.setdefault("currency", CrmSettings.load().default_currency)
            first = Stage.objects.first_open()
            if first is not None:
                self.initial.setdefault("stage", first.pk)
            if user is not None:
                self.initial.setdefault("owner", user.pk)
        stage_field: forms.ModelChoiceField[Any] = self.fields["stage"]  # type: ignore[assignment]
        stage_field.queryset = Stage.objects.select_related("pipeline").order_by(
            "pipeline_id", "position"
        )
        stage_field.empty_label = None
        owner_field: forms.ModelChoiceField[Any] = self.fields["owner"]  # type: ignore[assignment]
        owner_field.queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "last_name"
        )
        owner_field.empty_label = _("Unassigned")
        tags_field: forms.ModelMultipleChoiceField[Any] = self.fields["tags"]  # type: ignore[assignment]
        tags_field.queryset = tag_queryset(Scope.DEALS)

        main: forms.ModelChoiceField[Any] = self.fields["main_contact"]  # type: ignore[assignment]
        main.queryset = picker_queryset("any")
        limit_picker(main, kind="any", selected=self._selected("main_contact"))
        org: forms.ModelChoiceField[Any] = self.fields["organization"]  # type: ignore[assignment]
        org.queryset = picker_queryset(ORGANIZATION)
        limit_picker(org, kind=ORGANIZATION, selected=self._selected("organization"))
        add: forms.ModelChoiceField[Any] = self.fields["add_contact"]  # type: ignore[assignment]
        add.queryset = picker_queryset("any")
        limit_picker(add, kind="any", selected=self._selected("add_contact"))

        # Other contacts: those on the deal now (ticked), besides the main contact.
        others: forms.ModelMultipleChoiceField[Any] = self.fields["contacts"]  # type: ignore[assignment]
        linked = (
            Contact.objects.filter(deal_links__deal=deal).exclude(pk=deal.main_contact_id or 0)
            if editing
            else Contact.objects.none()
        )
        others.queryset = linked.select_related("organization").order_by("name_key", "id")
        if not linked.exists():
            del self.fields["contacts"]
        elif not self.is_bound:
            self.initial["contacts"] = [c.pk for c in others.queryset]
        self.add_custom_fields(deal.custom_fields)

    def _selected(self, name: str) -> list[Any]:
        if self.is_bound:
            return [self.data.get(self.add_prefix(name))]
        value = self.initial.get(name) or getattr(self.instance, f"{name}_id", None)
        return [value] if value else []

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Use a three-letter currency code such as EUR."))
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_custom_fields()
        return data

    def contact_changes(self) -> dict[str, list[Contact]]:
        """The other contacts the user added (``add_contact``) and unticked (``contacts``)."""
        add = [self.cleaned_data["add_contact"]] if self.cleaned_data.get("add_contact") else []
        remove: list[Contact] = []
        if "contacts" in self.fields:
            others: forms.ModelMultipleChoiceField[Any] = self.fields["contacts"]  # type: ignore[assignment]
            kept = {c.pk for c in self.cleaned_data.get("contacts") or []}
            remove = [c for c in others.queryset or () if c.pk not in kept]
        return {"add_contacts": add, "remove_contacts": remove}


class TransferForm(forms.Form):
    """Give a deal and its contacts to another rep."""

    owner = UserChoiceField(
        label=_("Transfer to"), queryset=User.objects.none(), empty_label=_("Choose a user")
    )
    with_contacts = forms.BooleanField(
        label=_("Its contacts too (main contact, other contacts, organisation)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, deal: Deal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: UserChoiceField = self.fields["owner"]  # type: ignore[assignment]
        owner.queryset = active_users().exclude(pk=deal.owner_id or 0)


class DealsTransferForm(forms.Form):
    """Bulk transfer from the deals list: the rep who gets the deals (and their contacts)."""

    owner = UserChoiceField(
        label=_("Transfer to"), queryset=User.objects.none(), empty_label=_("Choose a user")
    )
    with_contacts = forms.BooleanField(
        label=_("Their contacts too (main contacts, other contacts, organisations)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: UserChoiceField = self.fields["owner"]  # type: ignore[assignment]
        owner.queryset = active_users()
