"""Forms of the contact pages: create/edit (full and quick), the manual status change, and the
pieces the deal forms share (record pickers; custom fields are ``crm.custom_fields``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, CustomerStatus, ProspectStatus
from crm.custom_fields import CustomFieldsMixin
from crm.duplicate_watch import watch_duplicates
from crm.models import Scope, Tag, User, normalize_text
from crm.validators import strip_control, validate_date_range, validate_single_line

PICKER_LIMIT = 50  # options a picker shows before the user searches


# ---------------------------------------------------------------- pickers


def limit_picker(
    field: forms.ModelChoiceField[Any],
    *,
    kind: str,
    selected: Iterable[Any],
    exclude: int | None = None,
) -> None:
    """Render a (possibly huge) contact choice field as a short select: the selected contacts
    plus the first ones by name; the search box next to it (``contacts:options``) swaps in
    matches. Validation still accepts any contact of the field's queryset."""
    queryset: QuerySet[Contact] = field.queryset  # type: ignore[assignment]
    ids = [int(pk) for pk in selected if str(pk).isdigit()]
    shown = list(queryset.filter(pk__in=ids)) if ids else []
    first = queryset.exclude(pk__in=ids)
    if exclude:
        first = first.exclude(pk=exclude)
    shown += list(first.order_by("name_key", "id")[:PICKER_LIMIT])
    choices: list[tuple[Any, str]] = (
        [] if isinstance(field, forms.ModelMultipleChoiceField) else [("", "—")]
    )
    choices += [(c.pk, picker_label(c)) for c in shown]
    field.widget.choices = choices
    url = reverse("contacts:options")
    query = f"?kind={kind}" + (f"&exclude={exclude}" if exclude else "") + "&field="
    field.picker_url = url + query  # type: ignore[attr-defined]


def picker_label(contact: Contact) -> str:
    if contact.is_organization or not contact.organization_id:
        return contact.display_name
    organization = contact.organization  # select_related by the pickers' querysets
    return f"{contact.display_name} · {organization}" if organization else contact.display_name


def picker_queryset(kind: str) -> QuerySet[Contact]:
    queryset = Contact.objects.select_related("organization")
    if kind == "person":
        return queryset.filter(is_organization=False)
    if kind == "organization":
        return queryset.filter(is_organization=True)
    return queryset


def picker_search(kind: str, text: str, *, exclude: int | None = None) -> list[Contact]:
    """Contacts whose name holds every word of ``text`` (first ones by name)."""
    queryset = picker_queryset(kind)
    for word in normalize_text(strip_control(text)).split():  # NUL would fail on PostgreSQL
        queryset = queryset.filter(Q(name_key__contains=word) | Q(email__icontains=word))
    if exclude:
        queryset = queryset.exclude(pk=exclude)
    return list(queryset.order_by("name_key", "id")[:PICKER_LIMIT])


def tag_queryset(*scopes: str) -> QuerySet[Tag]:
    return Tag.objects.filter(scope__in=scopes).order_by("name")


# ---------------------------------------------------------------- contact forms

PERSON, ORGANIZATION = "person", "organization"
KIND_CHOICES = [(PERSON, _("Person")), (ORGANIZATION, _("Organisation"))]


# What identifies a contact: the fields watched for duplicates as you type.
IDENTIFYING = (
    "kind", "first_name", "last_name", "name", "organization", "email", "mobile", "phone", "website",
)  # fmt: skip


class _ContactFormBase(CustomFieldsMixin, forms.ModelForm):
    kind = forms.ChoiceField(
        label=_("Type"), choices=KIND_CHOICES, initial=PERSON, widget=forms.RadioSelect
    )
    custom_scope = "contact"

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        editing = self.instance.pk is not None
        if editing:
            # A person stays a person (employees, hierarchy and deals depend on it).
            self.fields["kind"].disabled = True
            self.initial["kind"] = ORGANIZATION if self.instance.is_organization else PERSON
        elif user is not None and "owner" in self.fields:
            self.initial.setdefault("owner", user.pk)
        if "owner" in self.fields:
            owner_field: forms.ModelChoiceField[Any] = self.fields["owner"]  # type: ignore[assignment]
            owner_field.queryset = User.objects.filter(is_active=True).order_by(
                "first_name", "last_name"
            )
            owner_field.empty_label = _("Unassigned")
        if "organization" in self.fields:
            org_field: forms.ModelChoiceField[Any] = self.fields["organization"]  # type: ignore[assignment]
            org_field.queryset = picker_queryset(ORGANIZATION)
            limit_picker(
                org_field,
                kind=ORGANIZATION,
                selected=self._selected("organization"),
            )
        if "reports_to" in self.fields:
            boss_field: forms.ModelChoiceField[Any] = self.fields["reports_to"]  # type: ignore[assignment]
            queryset = picker_queryset(PERSON)
            if editing:
                queryset = queryset.exclude(pk=self.instance.pk)
            boss_field.queryset = queryset
            limit_picker(
                boss_field,
                kind=PERSON,
                selected=self._selected("reports_to"),
                exclude=self.instance.pk,
            )
        if "tags" in self.fields:
            tags_field: forms.ModelMultipleChoiceField[Any] = self.fields["tags"]  # type: ignore[assignment]
            tags_field.queryset = tag_queryset(Scope.CONTACTS, Scope.CUSTOMERS)
        self.add_custom_fields(self.instance.custom_fields)
        watch_duplicates(self, IDENTIFYING, self.duplicate_check_url())

    def duplicate_check_url(self) -> str:
        """The check as you type (docs/rules.md#duplicates-on-entry; the endpoint is the leads
        app's, which sees leads and contacts): a new contact's kind is the form's ``kind``; an
        edited one is excluded from its own findings."""
        url = reverse("leads:duplicate_check")
        if self.instance.pk is None:
            return url + "?for=contact"
        kind = ORGANIZATION if self.instance.is_organization else PERSON
        return url + f"?for={kind}&exclude={self.instance.pk}"

    def _selected(self, name: str) -> list[Any]:
        if self.is_bound:
            return (
                self.data.getlist(self.add_prefix(name))
                if hasattr(self.data, "getlist")
                else [self.data.get(self.add_prefix(name))]
            )
        value = self.initial.get(name) or getattr(self.instance, f"{name}_id", None)
        return [value] if value else []

    @property
    def is_organization(self) -> bool:
        if self.instance.pk is not None:
            return self.instance.is_organization
        kind = self.data.get(self.add_prefix("kind")) if self.is_bound else self.initial.get("kind")
        return kind == ORGANIZATION

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        is_org = self.is_organization
        if is_org:
            if not (data.get("name") or "").strip():
                self.add_error("name", _("An organisation needs a name."))
            for name in ("organization", "reports_to"):
                if data.get(name):
                    self.add_error(name, _("Only a person can have this."))
            for name in ("first_name", "last_name"):
                if name in data:
                    data[name] = ""
        else:
            if not (
                (data.get("first_name") or "").strip() or (data.get("last_name") or "").strip()
            ):
                self.add_error("last_name", _("A person needs a first or a last name."))
            if "name" in data:
                data["name"] = ""
            boss = data.get("reports_to")
            if boss is not None and self.instance.pk and boss.pk == self.instance.pk:
                self.add_error("reports_to", _("A person cannot report to themselves."))
        start, end = data.get("support_start"), data.get("support_end")
        if start and end and end < start:
            self.add_error("support_end", _("The support period must end after it starts."))
        self.clean_custom_fields()
        return data

    def record_data(self) -> dict[str, Any]:
        """For ``contact_create`` / ``contact_update``: what the user changed."""
        data = super().record_data()
        if self.instance.pk is None:
            data["is_organization"] = self.is_organization
        return data


class ContactForm(_ContactFormBase):
    """Every editable field of a person or an organisation."""

    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "name",
            "organization",
            "reports_to",
            "title",
            "email",
            "mobile",
            "phone",
            "fax",
            "website",
            "industry",
            "street",
            "postal_code",
            "city",
            "region",
            "country",
            "lifecycle_stage",
            "contact_status",
            "support_start",
            "support_end",
            "owner",
            "tags",
            "description",
        ]
        widgets = {
            "tags": forms.CheckboxSelectMultiple,
            "support_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "support_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }


class QuickContactForm(_ContactFormBase):
    """Quick create: only what identifies the contact and how to reach them."""

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "name", "organization", "email", "mobile", "owner"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The dialog opens with the cursor in the first name (the kind above it is preset to a
        # person); a form shown again with its errors leaves the focus to the browser.
        if not self.is_bound:
            self.fields["first_name"].widget.attrs["autofocus"] = True

    def add_custom_fields(self, values: dict[str, Any] | None) -> None:
        self.custom_definitions, self.custom_stored = [], {}


class StatusForm(forms.Form):
    """The manual prospect/customer status change; the service decides whether it is allowed."""

    prospect_status = forms.ChoiceField(label=_("Prospect status"), choices=ProspectStatus.choices)
    customer_status = forms.ChoiceField(label=_("Customer status"), choices=CustomerStatus.choices)

    def changes(self, contact: Contact) -> dict[str, str]:
        """Only the statuses the user changed (an unchanged one is not re-set by hand)."""
        return {
            name: self.cleaned_data[name]
            for name in ("prospect_status", "customer_status")
            if self.cleaned_data[name] != getattr(contact, name)
        }


# ---------------------------------------------------------------- bulk actions and organisations


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


if TYPE_CHECKING:
    _UserChoiceBase = forms.ModelChoiceField[User]
else:  # ModelChoiceField is generic for the type checker only
    _UserChoiceBase = forms.ModelChoiceField


class UserChoiceField(_UserChoiceBase):
    """A user by full name (the username when there is none)."""

    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class AssignForm(forms.Form):
    """Bulk assign: the rep who gets the selected records."""

    owner = UserChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), empty_label=_("Choose a user")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: UserChoiceField = self.fields["owner"]  # type: ignore[assignment]
        owner.queryset = active_users()


class TagsForm(forms.Form):
    """Bulk tags: the tags to add and to remove, of the record's scopes only."""

    add = forms.ModelMultipleChoiceField(
        label=_("Add these tags"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    remove = forms.ModelMultipleChoiceField(
        label=_("Remove these tags"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, scopes: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("add", "remove"):
            field: forms.ModelMultipleChoiceField[Any] = self.fields[name]  # type: ignore[assignment]
            field.queryset = tag_queryset(*scopes)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("add") and not data.get("remove"):
            raise ValidationError(_("Choose tags to add or to remove."))
        if set(data.get("add") or []) & set(data.get("remove") or []):
            self.add_error("remove", _("A tag cannot be added and removed at once."))
        return data


class DeleteConfirmForm(forms.Form):
    """Bulk delete of leads: an explicit tick."""

    confirm = forms.BooleanField(
        label=_("Yes, delete them with their notes, documents and tasks"),
        required=True,
        error_messages={"required": _("Tick the box to confirm the deletion.")},
    )


class ContactsDeleteForm(DeleteConfirmForm):
    """Bulk delete of contacts: what happens to the contacts that are on deals."""

    deals = forms.ChoiceField(
        label=_("Contacts that are on deals"),
        choices=[
            ("skip", _("Keep them: delete only the contacts without deals")),
            ("detach", _("Delete them too: their deals stay, without them")),
        ],
        initial="skip",
        widget=forms.RadioSelect,
    )


class MoveOrganizationForm(forms.Form):
    """A person moves to another organisation (or to none) on a date."""

    organization = forms.ModelChoiceField(
        label=_("New organisation"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("No organisation (left the company)"),
    )
    moved_on = forms.DateField(
        validators=[validate_date_range],
        label=_("Since"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    title = forms.CharField(
        label=_("New title"), max_length=150, required=False, validators=[validate_single_line]
    )

    def __init__(self, *args: Any, person: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ModelChoiceField[Any] = self.fields["organization"]  # type: ignore[assignment]
        field.queryset = picker_queryset(ORGANIZATION).exclude(pk=person.organization_id or 0)
        selected = self.data.getlist("organization") if self.is_bound else []  # type: ignore[attr-defined]
        limit_picker(field, kind=ORGANIZATION, selected=selected, exclude=person.organization_id)
        if not self.is_bound:
            self.initial.setdefault("title", person.title)


class OrganizationDeleteForm(forms.Form):
    """Deleting an organisation: what becomes of its employees and of its deals."""

    employees = forms.ChoiceField(
        label=_("Its employees"),
        choices=[
            ("keep", _("Keep them as people without organisation")),
            ("move", _("Move them to another organisation")),
        ],
        initial="keep",
        widget=forms.RadioSelect,
    )
    move_to = forms.ModelChoiceField(
        label=_("Move them to"), queryset=Contact.objects.none(), required=False
    )
    deals = forms.ChoiceField(
        label=_("Its deals"),
        choices=[
            ("keep", _("Keep them, without organisation")),
            ("delete", _("Delete them")),
        ],
        initial="keep",
        widget=forms.RadioSelect,
    )
    confirm_deals = forms.BooleanField(
        label=_("Yes, delete these deals with their notes, documents and tasks"), required=False
    )

    def __init__(self, *args: Any, organization: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ModelChoiceField[Any] = self.fields["move_to"]  # type: ignore[assignment]
        field.queryset = picker_queryset(ORGANIZATION).exclude(pk=organization.pk)
        selected = self.data.getlist("move_to") if self.is_bound else []  # type: ignore[attr-defined]
        limit_picker(field, kind=ORGANIZATION, selected=selected, exclude=organization.pk)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("employees") == "move" and not data.get("move_to"):
            self.add_error("move_to", _("Choose the organisation to move them to."))
        return data
