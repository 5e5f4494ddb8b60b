"""Forms of the shared layer: notes, documents and tasks on a record, and the managers' settings."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import (
    CrmSettings,
    CustomField,
    CustomFieldScope,
    CustomFieldType,
    LeadSource,
    Tag,
    User,
)
from crm.permissions import changeable
from crm.services import SUBJECT_MODELS, SUBJECT_SEARCHES, document_max_size, subject_model
from crm.tags import tag_key, tags_by_name
from crm.timeline import NOTE_MAX, OUTCOMES, ActivityOutcome, ActivityType
from crm.validators import validate_date_range, validate_multiline, validate_single_line

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class NoteForm(forms.Form):
    content = forms.CharField(
        label=_("Note"),
        max_length=10_000,
        validators=[validate_multiline],
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a note…")}),
        error_messages={"required": _("Write something first.")},
    )

    def clean_content(self) -> str:
        content = (self.cleaned_data.get("content") or "").strip()
        if not content:
            raise forms.ValidationError(_("Write something first."))
        return content


class DocumentForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        max_length=255,
        error_messages={
            "required": _("Choose a file to upload."),
            "empty": _("This file is empty."),
        },
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = document_max_size()
        if (upload.size or 0) > limit:
            raise forms.ValidationError(
                _("This file is %(size)s; files are limited to %(limit)s."),
                params={"size": filesizeformat(upload.size or 0), "limit": filesizeformat(limit)},
            )
        return upload


def active_users() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class TaskForm(forms.Form):
    content = forms.CharField(
        label=_("Task"),
        max_length=500,
        validators=[validate_multiline],
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Call back about the quote")}),
        error_messages={"required": _("Say what the task is.")},
    )
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=DATETIME_WIDGET, validators=[validate_date_range]
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=None
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "task-%s")
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owner_field.queryset = active_users()
        if user is not None and "owner" not in self.initial:
            self.initial["owner"] = user.pk

    def clean_content(self) -> str:
        content = (self.cleaned_data.get("content") or "").strip()
        if not content:
            raise forms.ValidationError(_("Say what the task is."))
        return content


SUBJECT_CHOICES_LIMIT = 100


def subject_choices(user: Any, query: str = "", selected: str = "") -> list[tuple[str, Any]]:
    """The task form's "About" options: the records of each kind the user may change (open
    leads only), the newest first, at most SUBJECT_CHOICES_LIMIT of each, matching ``query``;
    ``selected`` ("kind:pk") stays first when the user may change it. One query per kind, and
    one for the selected record (docs/rules.md#pickers)."""
    labels = {"lead": _("Leads"), "contact": _("Contacts"), "deal": _("Deals")}
    chosen: list[tuple[str, str]] = []
    groups: list[tuple[str, Any]] = []
    sel_kind, _sep, sel_pk = selected.partition(":")
    for kind in SUBJECT_MODELS:
        model = subject_model(kind)
        assert model is not None
        queryset = changeable(model._default_manager.all(), user)
        if kind == "lead":
            queryset = queryset.filter(converted_at__isnull=True)
        if kind == sel_kind and sel_pk.isdigit():
            chosen += [(f"{kind}:{obj.pk}", str(obj)) for obj in queryset.filter(pk=int(sel_pk))]
            queryset = queryset.exclude(pk=int(sel_pk))
        if query.strip():  # the list's own search (crm.search: its trigram index)
            queryset = SUBJECT_SEARCHES[kind](queryset, "q", query)
        rows = queryset.order_by("-created_at", "-pk")[:SUBJECT_CHOICES_LIMIT]
        options = [(f"{kind}:{obj.pk}", str(obj)) for obj in rows]
        if options:
            groups.append((str(labels[kind]), options))
    return [("", _("Choose a lead, contact or deal")), *chosen, *groups]


class MyTaskForm(TaskForm):
    """A task created from "My tasks": the record it is about is picked from the records the user
    may change (the most recently updated of each kind)."""

    # A CharField with a select: any "kind:pk" is accepted here and checked by the service
    # (records beyond the listed ones stay possible, crafted ids are refused there).
    subject = forms.CharField(
        label=_("About"),
        widget=forms.Select(),
        validators=[validate_single_line],
        error_messages={"required": _("Choose a lead, contact or deal.")},
    )

    field_order = ["content", "subject", "due_at", "owner"]

    def __init__(
        self,
        *args: Any,
        user: Any = None,
        users: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, user=user, **kwargs)
        if users is None:
            # A rep's own tasks page: the task is the rep's (other owners from a record's page).
            del self.fields["owner"]
        else:
            # The list the page already read for its owner filter (no second query).
            owner_field = self.fields["owner"]
            assert isinstance(owner_field, forms.ModelChoiceField)
            owner_field.choices = users
        widget = self.fields["subject"].widget
        assert isinstance(widget, forms.Select)
        selected = self.data.get("subject", "") if self.is_bound else ""
        widget.choices = subject_choices(user, selected=str(selected))

    def clean_subject(self) -> tuple[str, int]:
        value = self.cleaned_data.get("subject") or ""
        kind, _sep, pk = value.partition(":")
        if kind not in SUBJECT_MODELS or not pk.isdigit():
            raise forms.ValidationError(_("Choose a lead, contact or deal."))
        return kind, int(pk)


class OwnerFilterForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=None
    )

    def __init__(self, *args: Any, users: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owner_field.queryset = active_users()
        owner_field.choices = users


def user_choices() -> list[tuple[int, str]]:
    return [(user.pk, str(user)) for user in active_users()]


# ---------- Settings ----------


class NoControlTextMixin:
    """Every text field of the form refuses NUL and the other control characters; a multi-line
    one (a textarea) keeps tabs and line breaks (docs/rules.md#input-text). For the settings
    forms, whose names are not model fields with the rule of their own."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(validate_multiline if multiline else validate_single_line)


class SettingsModelForm(NoControlTextMixin, forms.ModelForm):
    """A settings row's form (lead sources, tags, stages, reasons...): text without control
    characters."""


class LeadSourceForm(SettingsModelForm):
    class Meta:
        model = LeadSource
        fields = ["name"]

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Give the source a name."))
        others = LeadSource.objects.filter(name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("There is already a source with this name."))
        return name


class TagForm(SettingsModelForm):
    class Meta:
        model = Tag
        fields = ["name", "scope"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = (data.get("name") or "").strip()
        scope = data.get("scope")
        if "name" in data and not name:
            self.add_error("name", _("Give the tag a name."))
        elif name and scope:
            # The one tag lookup's case rule (crm.tags), also for accented names on SQLite.
            same = tags_by_name(scope=scope, names=[name], create=False).get(tag_key(name))
            if same is not None and same != self.instance.pk:
                self.add_error("name", _("This list already has a tag with this name."))
            data["name"] = name
        return data

    def validate_constraints(self) -> None:
        # Checked in clean() with a readable message (the unique constraint is on Lower(name)).
        pass


class CustomFieldForm(SettingsModelForm):
    choices = forms.CharField(
        label=_("Choices"),
        validators=[validate_multiline],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Single-choice fields only: one choice per line."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "key", "scope", "field_type", "choices", "copy_on_conversion"]
        help_texts = {
            "key": _(
                "Lower-case letters, digits and underscores. A lead field is copied on conversion "
                "into the contact and deal fields with the same key."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Values are stored under the key: changing it would orphan them.
            self.fields["key"].disabled = True
            self.fields["scope"].disabled = True
            self.fields["key"].help_text = _("The key of an existing field cannot change.")
            self.initial["choices"] = "\n".join(self.instance.choices or [])
        self.fields["scope"].initial = CustomFieldScope.LEAD
        self.fields["field_type"].initial = CustomFieldType.TEXT

    def clean_key(self) -> str:
        return (self.cleaned_data.get("key") or "").strip().lower()

    def clean_choices(self) -> list[str]:
        text = self.cleaned_data.get("choices") or ""
        choices: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if line and line not in choices:
                choices.append(line)
        return choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("field_type")
        if kind and kind != CustomFieldType.CHOICE and data.get("choices"):
            self.add_error("choices", _("Only single-choice fields have choices."))
        return data


class DuplicateRulesForm(forms.ModelForm):
    class Meta:
        model = CrmSettings
        fields = [
            "match_person_email",
            "match_person_phone",
            "match_person_name_and_organization",
            "match_organization_name",
            "match_organization_domain",
        ]


class ConversionDefaultsForm(SettingsModelForm):
    class Meta:
        model = CrmSettings
        fields = [
            "convert_create_deal",
            "default_currency",
            "convert_create_task",
            "convert_task_content",
            "convert_task_due_days",
        ]
        help_texts = {
            "convert_task_content": _("{name} is replaced by the lead's name."),
        }

    def clean_default_currency(self) -> str:
        currency = (self.cleaned_data.get("default_currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError(_("Use a three-letter currency code such as EUR."))
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        content = (data.get("convert_task_content") or "").strip()
        if "convert_task_content" in data:
            data["convert_task_content"] = content
            if data.get("convert_create_task") and not content:
                self.add_error(
                    "convert_task_content", _("Say what the task is, or stop creating one.")
                )
        days = data.get("convert_task_due_days")
        if days is not None and days > 365:
            self.add_error("convert_task_due_days", _("Choose at most 365 days."))
        return data


class PoliciesForm(forms.ModelForm):
    class Meta:
        model = CrmSettings
        fields = ["repeat_business", "undo_grace_hours", "require_two_factor"]

    def clean_undo_grace_hours(self) -> int:
        hours = self.cleaned_data["undo_grace_hours"]
        if hours > 24 * 365:
            raise forms.ValidationError(_("Choose at most one year (8760 hours)."))
        return hours


class ActivityForm(forms.Form):
    """A call, meeting or email logged on a record's timeline (``crm.timeline.activity_log``)."""

    JUST_NOW = datetime.timedelta(minutes=5)

    activity_type = forms.ChoiceField(
        label=_("Type"),
        choices=ActivityType.choices,
        error_messages={"required": _("Choose a call, a meeting or an email.")},
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=ActivityOutcome.choices,
        error_messages={"required": _("Choose an outcome.")},
    )
    at = forms.DateTimeField(
        label=_("When"),
        widget=DATETIME_WIDGET,
        validators=[validate_date_range],
        error_messages={"required": _("Say when it happened.")},
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        validators=[validate_multiline],
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "activity-%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("activity_type", ActivityType.CALL)
            self.initial.setdefault("at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_at(self) -> Any:
        """The form shows minutes and defaults to the minute it was opened: a time in the last
        few minutes (``JUST_NOW``) is now, so that an activity just logged comes first on the
        timeline, not under what happened since the form was opened."""
        at = self.cleaned_data.get("at")
        now = timezone.now()
        if at is not None and at <= now < at + self.JUST_NOW:
            return now
        return at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, outcome = data.get("activity_type"), data.get("outcome")
        if kind and outcome and outcome not in OUTCOMES[kind]:
            self.add_error(
                "outcome",
                _("This outcome does not fit a %(type)s.")
                % {"type": str(ActivityType(kind).label).lower()},
            )
        return data

    def outcome_groups(self) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """(type, type label, [(outcome, label)]) for the outcome picker's groups."""
        return [
            (
                kind,
                str(ActivityType(kind).label),
                [(o, str(ActivityOutcome(o).label)) for o in outs],
            )
            for kind, outs in OUTCOMES.items()
        ]
