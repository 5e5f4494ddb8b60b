"""Forms shared by every conversion entry point that has a page (admin action, web dialogs)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.builtin_names import builtin_name
from crm.custom_fields import CustomFieldsMixin, RecordFormMixin
from crm.duplicate_watch import REGION_ID, watch_attrs, watch_duplicates
from crm.models import (
    CrmSettings,
    CustomFieldScope,
    LeadSource,
    Scope,
    Tag,
    User,
)
from crm.validators import validate_date_range, validate_single_line
from leads.conversion import (
    CREATE,
    MERGE,
    SKIP,
    ConversionOptions,
    Decision,
)
from leads.conversion.preview import BatchPreview
from leads.duplicates import Finding
from leads.entry import IDENTIFYING, EntryFinding, entry_values, exact_lead_duplicates
from leads.models import Lead, LeadStatus


class ConversionOptionsForm(forms.Form):
    """The options of a conversion: the deal and the task it makes (docs/rules.md#conversion-creates);
    defaults come from the CRM settings."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        label=_("Owner of the new records"),
        empty_label=_("Each lead's owner"),
    )
    create_deal = forms.BooleanField(
        required=False, label=_("Create a deal for each converted lead")
    )
    deal_name = forms.CharField(
        required=False, max_length=255, label=_("Deal name"), validators=[validate_single_line]
    )
    deal_value = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label=_("Deal value")
    )
    deal_currency = forms.CharField(required=False, min_length=3, max_length=3, label=_("Currency"))
    create_task = forms.BooleanField(
        required=False, label=_("Create a task for each converted lead")
    )
    task_content = forms.CharField(
        required=False,
        validators=[validate_single_line],
        max_length=500,
        label=_("Task"),
        help_text=_("{name} is replaced by the lead's name."),
    )
    task_due_at = forms.DateTimeField(
        required=False,
        validators=[validate_date_range],
        label=_("Task due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    task_owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        label=_("Task owner"),
        empty_label=_("The owner of the new records"),
    )
    duplicates = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        label=_("Leads that match an existing contact"),
        choices=[
            (MERGE, _("Merge into the contact they match")),
            (CREATE, _("Create new contacts")),
            (SKIP, _("Skip them: they stay leads")),
        ],
        initial=MERGE,
    )

    def __init__(self, *args: Any, single: bool = False, **kwargs: Any) -> None:
        settings = CrmSettings.load()
        due = timezone.localtime() + datetime.timedelta(days=settings.convert_task_due_days)
        kwargs["initial"] = {
            "create_deal": settings.convert_create_deal,
            "create_task": settings.convert_task_content and settings.convert_create_task,
            "task_content": builtin_name("task", settings.convert_task_content),
            "task_due_at": due.replace(minute=0, second=0, microsecond=0),
            "deal_currency": settings.default_currency,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, **kwargs)
        if not single:  # bulk: each deal is named after its lead (docs/rules.md#bulk-conversion)
            del self.fields["deal_name"]
        else:  # the single dialog decides per side (DuplicateChoiceForm)
            del self.fields["duplicates"]

    def clean_deal_currency(self) -> str:
        currency = (self.cleaned_data.get("deal_currency") or "").strip().upper()
        if currency and not currency.isalpha():
            raise forms.ValidationError(_("Use a three-letter currency code such as EUR."))
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("create_task") and not (data.get("task_content") or "").strip():
            self.add_error("task_content", _("Say what the task is."))
        return data

    def to_options(self) -> ConversionOptions:
        data = self.cleaned_data
        return ConversionOptions(
            owner=data.get("owner"),
            create_deal=bool(data.get("create_deal")),
            deal_name=(data.get("deal_name") or "").strip(),
            deal_value=data.get("deal_value"),
            deal_currency=data.get("deal_currency") or "",
            create_task=bool(data.get("create_task")),
            task_content=(data.get("task_content") or "").strip(),
            task_due_at=data.get("task_due_at"),
            task_owner=data.get("task_owner"),
            duplicates=data.get("duplicates") or MERGE,
        )


class BulkDuplicateChoicesForm(forms.Form):
    """A small batch's choice per lead that has duplicates (docs/rules.md#batch-duplicates), as in
    the single dialog: merge into the best match ("batch choice"), into a given finding, create
    new, or skip the lead. A lead left on "as chosen for the batch" follows the batch's choice."""

    BATCH = "batch"

    def __init__(self, *args: Any, preview: BatchPreview, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[Any, forms.BoundField]] = []
        for item in preview.leads if preview.per_lead else []:
            if not item.findings:
                continue
            name = f"lead_{item.lead.pk}"
            choices: list[tuple[str, Any]] = [(self.BATCH, _("As chosen for the batch"))]
            choices += [
                (
                    f"{side}:{f.contact_id}",
                    _("Merge into %(name)s (%(reason)s)") % {"name": f.name, "reason": f.reason},
                )
                for side, f in item.findings
            ]
            choices += [(NEW, _("Create new")), (SKIP, _("Skip this lead"))]
            self.fields[name] = forms.ChoiceField(
                choices=choices, required=False, initial=self.BATCH, label=item.lead.display_name
            )
            self.rows.append((item, self[name]))
            item.choice = self[name]

    def decisions(self) -> dict[int, Decision]:
        found: dict[int, Decision] = {}
        for item, bound in self.rows:
            value = self.cleaned_data.get(bound.name) or self.BATCH
            if value == self.BATCH:
                continue
            if value in (NEW, SKIP):
                found[item.lead.pk] = Decision(person=value, organization=value)
                continue
            side, _sep, pk = value.partition(":")
            decision = Decision()
            setattr(decision, side, int(pk))
            found[item.lead.pk] = decision
        return found


# --------------------------------------------------------------------------------------------
# The lead's own forms (web pages): create/edit, quick create, inline cells, the single dialog.

NAME_OR_COMPANY = _("A lead needs a last name or a company name.")


class LeadFormMixin:
    """The rule of the model (``lead_has_last_name_or_company``), said next to both fields."""

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}  # type: ignore[misc]
        instance = getattr(self, "instance", None)

        def value(name: str) -> str:
            if name in data:
                return (data.get(name) or "").strip()
            return (getattr(instance, name, "") or "").strip()

        if not value("last_name") and not value("company_name"):
            fields = self.fields  # type: ignore[attr-defined]
            for name in ("last_name", "company_name"):
                if name in fields and not self.has_error(name):  # type: ignore[attr-defined]
                    self.add_error(name, NAME_OR_COMPANY)  # type: ignore[attr-defined]
        return data


def duplicate_check_url(lead: Lead) -> str:
    """The check as you type of a lead's form (the lead itself excluded when it is edited)."""
    url = reverse("leads:duplicate_check") + "?for=lead"
    return url + (f"&exclude={lead.pk}" if lead.pk else "")


class LeadForm(LeadFormMixin, CustomFieldsMixin, forms.ModelForm):
    """Create and edit a lead: profile, status, source, owner, tags and the lead custom fields
    (each validated by its definition, the error next to it)."""

    custom_scope = CustomFieldScope.LEAD
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.filter(scope=Scope.LEADS),
        required=False,
        label=_("Tags"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "company_name",
            "title",
            "email",
            "mobile",
            "phone",
            "fax",
            "website",
            "industry",
            "status",
            "unqualified_reason",
            "source",
            "owner",
            "tags",
            "street",
            "postal_code",
            "city",
            "region",
            "country",
            "social_x",
            "facebook",
            "skype",
            "linkedin",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [c for c in LeadStatus.choices if c[0] != LeadStatus.CONVERTED]
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = User.objects.filter(is_active=True)
        owner.empty_label = _("Unassigned")
        source = self.fields["source"]
        assert isinstance(source, forms.ModelChoiceField)
        source.queryset = LeadSource.objects.filter(active=True) | LeadSource.objects.filter(
            pk=self.instance.source_id or 0
        )
        self.add_custom_fields(self.instance.custom_fields)
        watch_duplicates(self, IDENTIFYING["lead"], duplicate_check_url(self.instance))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.clean_custom_fields()
        # ``ModelForm.save`` (kept for the API until it calls ``lead_update``) saves these.
        self.instance.custom_fields = self.merged_custom_fields(self.instance.custom_fields)
        return data


class LeadQuickForm(LeadFormMixin, RecordFormMixin, forms.ModelForm):
    """Quick create from the leads list: only a few fields; the rep creating it owns it.

    An exact duplicate of an existing lead (same email, or same full name at the same company) is
    not saved until the rep ticks "Save anyway" (docs/rules.md#duplicates-on-entry)."""

    confirm_duplicate = forms.BooleanField(
        required=False, label=_("Save anyway: this is another lead")
    )

    class Meta:
        model = Lead
        fields = ["first_name", "last_name", "company_name", "email", "mobile"]
        labels = {"mobile": _("Phone")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exact_duplicates: list[EntryFinding] = []
        watch_duplicates(self, IDENTIFYING["lead"], duplicate_check_url(self.instance))
        if not self.is_bound:  # the dialog opens with the cursor in its first field
            self.fields["first_name"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors or data.get("confirm_duplicate"):
            return data
        self.exact_duplicates = exact_lead_duplicates(entry_values("lead", data))
        if self.exact_duplicates:
            self.add_error(
                "confirm_duplicate",
                _("This lead already exists. Tick “Save anyway” to add it all the same."),
            )
        return data

    @property
    def asks_confirmation(self) -> bool:
        """Show the "Save anyway" box: a duplicate was found, or the rep already ticked it."""
        return bool(self.exact_duplicates) or bool(self["confirm_duplicate"].value())


class LeadCellForm(LeadFormMixin, RecordFormMixin, forms.ModelForm):
    """Inline edit of a cell of the leads table, checked for duplicates as the rep types, like
    the forms (docs/rules.md#duplicates-on-entry): its inputs post the cell's form to the same
    check, with the lead's other identifying values as hidden inputs (``others``: read for the
    check only, never saved by the cell), into the cell's own live region (``region_id``)."""

    cell = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region_id = f"{REGION_ID}-{self.instance.pk}-{self.cell}"
        self.watch = watch_attrs(duplicate_check_url(self.instance), self.region_id)
        self.others = [
            (name, getattr(self.instance, name) or "")
            for name in IDENTIFYING["lead"]
            if name not in self.fields
        ]


class LeadNameForm(LeadCellForm):
    """Inline edit of the name cell of the leads table."""

    cell = "name"

    class Meta:
        model = Lead
        fields = ["first_name", "last_name"]


class LeadCompanyForm(LeadCellForm):
    """Inline edit of the company cell of the leads table."""

    cell = "company"

    class Meta:
        model = Lead
        fields = ["company_name"]


class ConvertProfileForm(LeadFormMixin, forms.ModelForm):
    """The editable profile of the single conversion dialog, saved to the lead just before it is
    converted (same request, same transaction)."""

    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "company_name",
            "title",
            "email",
            "mobile",
            "phone",
            "website",
            "industry",
            "city",
            "country",
        ]


NEW = "new"


class DuplicateChoiceForm(forms.Form):
    """For each side of a lead (person, organisation): merge into one of the duplicates found, or
    create a new contact. The default follows the service's automatic rule: the first match."""

    person = forms.ChoiceField(required=False, widget=forms.RadioSelect, label=_("Person"))
    organization = forms.ChoiceField(
        required=False, widget=forms.RadioSelect, label=_("Organisation")
    )

    def __init__(
        self,
        *args: Any,
        person: Sequence[Finding] = (),
        organization: Sequence[Finding] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.findings = {"person": list(person), "organization": list(organization)}
        for side, found in self.findings.items():
            field = self.fields[side]
            assert isinstance(field, forms.ChoiceField)
            new_label = (
                _("Create a new person") if side == "person" else _("Create a new organisation")
            )
            field.choices = [
                *((str(f.contact_id), _("Merge into %(name)s") % {"name": f.name}) for f in found),
                (NEW, new_label),
            ]
            self.initial.setdefault(side, str(found[0].contact_id) if found else NEW)

    def sides(self) -> list[dict[str, Any]]:
        """Per side, the options to render: each match with its reason and link, then "new"."""
        sides = []
        for side, found in self.findings.items():
            bound = self[side]
            current = str(bound.value() or NEW)
            field = self.fields[side]
            assert isinstance(field, forms.ChoiceField)
            labels = dict(field.choices)  # type: ignore[arg-type]
            options = [
                {
                    "value": str(f.contact_id),
                    "label": labels[str(f.contact_id)],
                    "reason": f.reason,
                    "url": reverse("contacts:detail", args=[f.contact_id]),
                    "checked": current == str(f.contact_id),
                }
                for f in found
            ]
            options.append(
                {
                    "value": NEW,
                    "label": labels[NEW],
                    "reason": "",
                    "url": "",
                    "checked": current == NEW,
                }
            )
            sides.append(
                {
                    "name": side,
                    "label": field.label,
                    "found": bool(found),
                    "options": options,
                    "errors": bound.errors,
                }
            )
        return sides

    def decision(self) -> Decision:
        data = self.cleaned_data
        sides: dict[str, str | int] = {}
        for side in ("person", "organization"):
            chosen = data.get(side) or NEW
            sides[side] = NEW if chosen == NEW else int(chosen)
        return Decision(person=sides["person"], organization=sides["organization"])
