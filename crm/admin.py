"""Django admin for the shared layer, and the admin building blocks the other apps reuse:
record-level permissions (docs/rules.md#permissions), generic inlines for notes, documents and
tasks, and the custom-fields form validation."""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin
from django.contrib.admin import options as admin_options
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminFileWidget, AdminSplitDateTime
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.admin import GenericStackedInline
from django.contrib.contenttypes.forms import BaseGenericInlineFormSet
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.db.models import CharField, DateTimeField, Model, Q, QuerySet, TextField
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from crm.api import admin as api_admin  # noqa: F401  (registers the API tokens' admin)
from crm.auth_totp import totp_reset
from crm.listing import SEARCHED_SORT_KEYS, EstimatedPaginator, unindexed_order
from crm.models import (
    AuditEntry,
    CrmSettings,
    CustomField,
    Document,
    DocumentLink,
    LeadSource,
    Note,
    Tag,
    Task,
    TrashEntry,
    User,
)
from crm.models import clean_custom_fields as validate_custom_fields
from crm.permissions import acting_user, can_change
from crm.search import SEARCHED, content_search_text, matching
from crm.services import crm_settings_followed, document_max_size
from crm.trash import trash_capture

admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM administration")
admin.site.index_title = _("CRM administration")

# The records notes, documents and tasks can be attached to, by (app label, model name): the shared
# layer must not import the apps above it.
SUBJECT_MODELS: tuple[tuple[str, str], ...] = (
    ("leads", "lead"),
    ("contacts", "contact"),
    ("deals", "deal"),
)


# --- Small display helpers ---------------------------------------------------------------------


def admin_url(obj: Model) -> str | None:
    """The admin change page of ``obj``, or None when its model is not in the admin."""
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def admin_link(obj: Model | None) -> str:
    """An HTML link to ``obj``'s admin page (plain text when it has none; "-" for None)."""
    if obj is None:
        return "-"
    url = admin_url(obj)
    if url is None:
        return str(obj)
    return format_html('<a href="{}">{}</a>', url, obj)


def tag_names(obj: Any) -> str:
    """Comma-separated tag names; reads ``tags.all()`` so a ``prefetch_related("tags")`` is used."""
    return ", ".join(tag.name for tag in obj.tags.all())


def pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


def subject_content_types() -> QuerySet[ContentType]:
    condition = Q()
    for app_label, model in SUBJECT_MODELS:
        condition |= Q(app_label=app_label, model=model)
    return ContentType.objects.filter(condition)


# --- Date and time inputs that say what they are ----------------------------------------------


class LabelledSplitDateTime(AdminSplitDateTime):
    """Django's admin date and time inputs for one date-time field, each with an accessible
    name: the admin writes "Date:" and "Time:" beside them as plain text, which no label ties to
    the inputs (axe, WCAG 2.1 A: "Form elements must have labels")."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = _("Date")
        self.widgets[1].attrs["aria-label"] = _("Time")


# Every admin page's date-time fields (the admin's own default for the field type).
admin_options.FORMFIELD_FOR_DBFIELD_DEFAULTS[DateTimeField]["widget"] = LabelledSplitDateTime


# --- Record-level permissions --------------------------------------------------------------------


class RecordPermissionMixin:
    """Model permissions first, then the record rule: ``record_changeable`` (by default
    ``crm.permissions.can_change``: the owner, unowned records, or a manager). A record the user
    may not change is shown read-only, and a POST to it is refused (403); bulk delete refuses too,
    because Django's delete confirmation asks ``has_delete_permission`` for every object."""

    def record_changeable(self, request: HttpRequest, obj: Any) -> bool:
        return can_change(request.user, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_change_permission(request, obj)  # type: ignore[misc]
        return allowed and (obj is None or self.record_changeable(request, obj))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new owned record belongs to its creator unless another owner is chosen."""
        initial: dict[str, Any] = super().get_changeform_initial_data(request)  # type: ignore[misc]
        model = self.model  # type: ignore[attr-defined]
        if any(field.name == "owner" for field in model._meta.fields):
            initial.setdefault("owner", request.user.pk)
        return initial

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return allowed and (obj is None or self.record_changeable(request, obj))


class SubjectPermissionMixin(RecordPermissionMixin):
    """For things attached to a record (notes, documents): changeable when the record is."""

    def record_changeable(self, request: HttpRequest, obj: Any) -> bool:
        subject = obj.subject
        if subject is None:
            return True
        if getattr(subject, "is_converted", False):
            return False
        if hasattr(subject, "owner_id"):
            return can_change(request.user, subject)
        return True


class ParentPermissionInlineMixin:
    """An inline may add, change or delete rows only when its parent record may be changed, so
    the parent's record rule (owner, converted lead) also holds for its inlines."""

    parent_model: type[Model]
    admin_site: admin.AdminSite

    def _parent_changeable(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or obj.pk is None:
            return True
        parent_admin = self.admin_site.get_model_admin(self.parent_model)
        return bool(parent_admin.has_change_permission(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_add_permission(request, obj)  # type: ignore[misc]
        return allowed and self._parent_changeable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_change_permission(request, obj)  # type: ignore[misc]
        return allowed and self._parent_changeable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed: bool = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return allowed and self._parent_changeable(request, obj)


class LargeTableAdminMixin:
    """A changelist of a table that grows with the business (leads, contacts, deals, notes,
    tasks): no full ``COUNT(*)`` beside the filtered one, and the filtered one exact only up to
    10,000 rows (an estimate above; docs/rules.md#list-pages). Pages of 50 rows (Django's
    default is 100): each row of these changelists costs about 0.7 ms to render, the bulk of a
    full page's time, so a page that is always full (a search on a big table) costs about what
    a short one does."""

    show_full_result_count = False
    paginator: type[Paginator] = EstimatedPaginator
    list_per_page = 50

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        """The rows matching ``term``: the app lists' own search (crm.search: every word in the
        record's search text, read from its trigram index on PostgreSQL) instead of the admin's
        ``UPPER(column) LIKE`` on each of ``search_fields`` (a scan of the table)."""
        raise NotImplementedError

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        return self.search(queryset, search_term), False  # no joins: never a duplicate row

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SearchedChangeList

    def action_checkbox(self, obj: Any) -> SafeString:
        """Each row's checkbox, the HTML Django's ``action_checkbox`` gives, without rendering a
        ``CheckboxInput`` through the form templates: a fifth of a 100-row page's rendering."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(str(_("Select this object for an action - {}")), str(obj)),
        )


class SearchedChangeList(ChangeList):
    """A changelist whose search orders the matches (found by the search's trigram index)
    instead of walking the sort column's index to them when that column is text: a column the
    search reads (a name) holds the matches of a word together, after every row before them
    (``crm.listing.unindexed_order``)."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        if SEARCHED not in queryset.query.annotations:
            return queryset
        order = list(queryset.query.order_by)
        first = order[0] if order else None
        if not isinstance(first, str) or not _text_column(queryset, first.lstrip("-")):
            return queryset
        order[0] = unindexed_order(first.lstrip("-"), descending=first.startswith("-"))
        return queryset.order_by(*order)


def _text_column(queryset: QuerySet[Any], name: str) -> bool:
    """``name`` is a text column of the queryset's own table (names, email: what a search
    reads), or one of the lists' text sort keys; a date or a number is not (the matches of a
    word are spread over its order, which the index walk then meets soon)."""
    if name in queryset.query.annotations:
        return name in SEARCHED_SORT_KEYS
    try:
        field = queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return isinstance(field, CharField | TextField) and not field.is_relation


class AttachmentsAdminMixin(RecordPermissionMixin):
    """For Lead, Contact and Deal admins: record-level permissions, and new notes and documents
    added through the inlines are signed by the current user."""

    STAMP_FIELDS = ("author", "uploaded_by")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        """A record deleted in the admin goes to the trash too (docs/rules.md#trash)."""
        trash_capture(actor=request.user, model=type(obj), ids=[obj.pk])
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        trash_capture(actor=request.user, model=queryset.model, ids=ids)
        super().delete_queryset(request, queryset)  # type: ignore[misc]

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            deleted.delete()
        for instance in instances:
            if instance.pk is None:
                stamp_user(instance, request.user, self.STAMP_FIELDS)
            instance.save()
        formset.save_m2m()


class WriteServiceAdminMixin:
    """For Lead, Contact and Deal admins: the admin form validates, the record's write service
    writes (``record_create`` / ``record_update``, e.g. ``lead_create`` / ``lead_update``), as
    the pages and the API do: only the changed fields, on a locked and re-checked row, with
    the service's side effects (employment history, statuses)."""

    def record_create(self, actor: User, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def record_update(self, actor: User, obj: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = acting_user(request)
        data = admin_record_data(form, change=change)
        saved = self.record_update(actor, obj, data) if change else self.record_create(actor, data)
        obj.__dict__.update(saved.__dict__)  # the admin goes on with ``obj`` (inlines, messages)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The inlines; the form's many-to-many fields were written by the service."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)  # type: ignore[attr-defined]


def admin_record_data(form: forms.ModelForm, *, change: bool) -> dict[str, Any]:
    """What an admin form hands a write service: the changed values (all of them for a new
    record); the edited ``custom_fields`` JSON as changes (key -> value, None: removed)."""
    cleaned = form.cleaned_data
    names = form.changed_data if change else list(cleaned)
    data = {name: cleaned[name] for name in names if name in cleaned}
    if "custom_fields" in data:
        old = (form.initial.get("custom_fields") or {}) if change else {}
        new = data["custom_fields"] or {}
        data["custom_fields"] = {
            **{key: None for key in old if key not in new},
            **{key: value for key, value in new.items() if old.get(key) != value},
        }
    return data


def stamp_user(instance: Model, user: Any, fields: tuple[str, ...]) -> None:
    for field in fields:
        if hasattr(instance, f"{field}_id") and getattr(instance, f"{field}_id") is None:
            setattr(instance, field, user)


# --- Forms ---------------------------------------------------------------------------------------


class CustomFieldsFormMixin(forms.ModelForm):
    """Validates the ``custom_fields`` JSON against the custom field definitions of one scope.
    Only a changed value is checked, so a record holding a value of a since-deleted definition can
    still be edited otherwise."""

    custom_fields_scope: str = ""

    def clean_custom_fields(self) -> dict[str, Any]:
        value = self.cleaned_data.get("custom_fields") or {}
        if not isinstance(value, dict):
            raise ValidationError(_("Custom fields must be a JSON object of key: value."))
        if "custom_fields" not in self.changed_data:
            return value
        try:
            return validate_custom_fields(self.custom_fields_scope, value)
        except ValidationError as exc:
            raise ValidationError(
                [
                    f"{key}: {message}"
                    for key, messages in exc.message_dict.items()
                    for message in messages
                ]
            ) from None


class SubjectForm(forms.ModelForm):
    """Standalone note/document/task forms: the record they are attached to must exist."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        content_type = cleaned.get("content_type")
        object_id = cleaned.get("object_id")
        if content_type is not None and object_id is not None:
            model = content_type.model_class()
            if model is None or not model._default_manager.filter(pk=object_id).exists():
                raise ValidationError(
                    {
                        "object_id": _("There is no %(model)s with this id.")
                        % {"model": content_type}
                    }
                )
        return cleaned


class _DownloadLink:
    """What ``DocumentFileInput`` shows for the current file: its name, linked to ``url``."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def __str__(self) -> str:
        return self.name


class DocumentFileInput(AdminFileWidget):
    """The current file links to the permission-checked download (``document_download``), not
    to the storage's own URL (not served on the local disk; on S3 a presigned link that expires
    while the page is open)."""

    download_url = ""

    def is_initial(self, value: Any) -> bool:
        return bool(value and getattr(value, "name", "") and self.download_url)

    def format_value(self, value: Any) -> Any:
        if self.is_initial(value):
            return _DownloadLink(value.name, self.download_url)
        return None


class DocumentForm(forms.ModelForm):
    """The name defaults to the uploaded file's name; size and content type come from the file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].required = False
            self.fields["name"].help_text = _("Leave empty to use the file's name.")
        if "file" in self.fields:
            widget = DocumentFileInput()
            widget.is_required = self.fields["file"].required
            if self.instance.pk:
                widget.download_url = reverse("document_download", args=[self.instance.pk])
            self.fields["file"].widget = widget

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        if isinstance(upload, UploadedFile):
            limit = document_max_size()
            if (upload.size or 0) > limit:
                # Refused before the model form saves it: nothing reaches the storage.
                self.add_error(
                    "file",
                    _("This file is %(size)s; files are limited to %(limit)s.")
                    % {"size": filesizeformat(upload.size or 0), "limit": filesizeformat(limit)},
                )
            self.instance.size = upload.size or 0
            self.instance.mime_type = (
                upload.content_type or mimetypes.guess_type(upload.name or "")[0] or ""
            )[:120]
            if not cleaned.get("name"):
                cleaned["name"] = (upload.name or "")[:255]
        if "name" in self.fields and not cleaned.get("name"):
            self.add_error("name", _("This field is required."))
        return cleaned


class SubjectDocumentForm(SubjectForm, DocumentForm):
    pass


class TaskForm(forms.ModelForm):
    """``completed_at`` follows ``done``: set when a task is ticked, cleared when unticked."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "done" in cleaned:
            if cleaned["done"] and self.instance.completed_at is None:
                self.instance.completed_at = timezone.now()
            elif not cleaned["done"]:
                self.instance.completed_at = None
        return cleaned


class SubjectTaskForm(SubjectForm, TaskForm):
    pass


class OwnedRowsInlineFormSet(BaseGenericInlineFormSet):
    """Rows of an inline that have their own owner (tasks): a rep may add rows, but may change or
    delete only the rows the rep owns and unowned ones, even on a record the rep owns
    (docs/rules.md#permissions)."""

    user: Any = None

    def clean(self) -> None:
        super().clean()
        for form in self.initial_forms:
            deleting = self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False)
            if not (deleting or form.has_changed()):
                continue
            original = _OwnerOnly(form.initial.get("owner"))
            if not can_change(self.user, original):
                raise ValidationError(
                    _("You may change or delete only your own or unassigned %(items)s.")
                    % {"items": self.model._meta.verbose_name_plural}
                )


class _OwnerOnly:
    """What ``can_change`` needs of a record: its owner id."""

    def __init__(self, owner_id: Any) -> None:
        self.owner_id = owner_id


# --- Generic inlines for Lead, Contact and Deal --------------------------------------------------


class NoteInline(ParentPermissionInlineMixin, GenericStackedInline):
    model = Note
    extra = 0
    fields = ("content", "author", "created_at")
    readonly_fields = ("author", "created_at")
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Note]:
        return super().get_queryset(request).select_related("author")


class DocumentInline(ParentPermissionInlineMixin, GenericStackedInline):
    model = Document
    form = DocumentForm
    extra = 0
    fields = ("file", "name", "size_display", "mime_type", "uploaded_by", "created_at")
    readonly_fields = ("size_display", "mime_type", "uploaded_by", "created_at")
    ordering = ("-created_at", "-id")

    @admin.display(description=_("size"))
    def size_display(self, obj: Document) -> str:
        return filesizeformat(obj.size) if obj.pk else "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("uploaded_by")


class TaskInline(ParentPermissionInlineMixin, GenericStackedInline):
    model = Task
    form = TaskForm
    formset = OwnedRowsInlineFormSet  # type: ignore[assignment]
    extra = 0
    fields = ("content", "due_at", "owner", "done", "completed_at")
    readonly_fields = ("completed_at",)
    ordering = ("done", "due_at", "id")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"user": request.user})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        return super().get_queryset(request).select_related("owner")


ATTACHMENT_INLINES = (NoteInline, DocumentInline, TaskInline)


# --- Users and settings --------------------------------------------------------------------------


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "group_names",
        "is_staff",
        "is_active",
        "two_factor",
        "last_login",
    )
    list_filter = ("groups", "is_staff", "is_superuser", "is_active")
    actions = ("reset_two_factor", "unlock_sign_in")
    readonly_fields = ("totp_confirmed_at",)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Two-factor sign-in"), {"fields": ("totp_confirmed_at",)}),
    )

    @admin.display(description=_("two-factor"), boolean=True)
    def two_factor(self, obj: User) -> bool:
        return obj.has_two_factor

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Recovery (docs/rules.md#sign-in): the user signs in with the password alone, or
        enrols again at once when the CRM settings require two-factor."""
        for user in queryset:
            totp_reset(user)
        self.message_user(request, _("Two-factor sign-in reset for %d user(s).") % len(queryset))

    @admin.action(description=_("Unlock sign-in (clear failed attempts)"))
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """The lockout after repeated failures, lifted now (as ``manage.py axes_reset_username``)."""
        cleared = sum(axes_reset(username=user.username) for user in queryset)
        self.message_user(request, _("%d failed-attempt record(s) cleared.") % cleared)

    @admin.display(description=_("groups"))
    def group_names(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "active")
    list_editable = ("position", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    ordering = ("position", "name")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "scope", "created_at")
    list_filter = ("scope",)
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    ordering = ("scope", "name")


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """ModelAdmin forms call ``full_clean``, so ``CustomField.clean`` (key format, choices)
    and the unique (scope, key) constraint are enforced with readable messages."""

    list_display = ("label", "key", "scope", "field_type", "copy_on_conversion", "position")
    list_filter = ("scope", "field_type", "copy_on_conversion")
    search_fields = ("label", "key")
    ordering = ("scope", "position", "label")
    fieldsets = (
        (None, {"fields": ("scope", "key", "label", "field_type", "position")}),
        (
            _("Options"),
            {
                "fields": ("choices", "copy_on_conversion"),
                "description": _(
                    'Choices: a JSON list of texts, only for single-choice fields, e.g. ["Gold", '
                    '"Silver"]. "Copy on conversion" applies to lead fields: the value lands in '
                    "the contact and deal fields that have the same key."
                ),
            },
        ),
    )


@admin.register(CrmSettings)
class CrmSettingsAdmin(admin.ModelAdmin):
    """The single settings row: no second row, no delete; the list goes straight to the row."""

    fieldsets = (
        (
            _("Duplicate rules"),
            {
                "fields": (
                    "match_person_email",
                    "match_person_phone",
                    "match_person_name_and_organization",
                    "match_organization_name",
                    "match_organization_domain",
                )
            },
        ),
        (
            _("Conversion defaults"),
            {
                "fields": (
                    "convert_create_deal",
                    "convert_create_task",
                    "convert_task_content",
                    "convert_task_due_days",
                )
            },
        ),
        (
            _("Policies"),
            {
                "fields": (
                    "repeat_business",
                    "undo_grace_hours",
                    "default_currency",
                    "require_two_factor",
                )
            },
        ),
        (None, {"fields": ("updated_at",)}),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CrmSettings.objects.exists()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """As on the settings pages, the apps follow a changed setting (the repeat-business
        policy recomputes the customers' statuses) and say what changed."""
        super().save_model(request, obj, form, change)
        for notice in crm_settings_followed(changed=form.changed_data):
            self.message_user(request, notice)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if CrmSettings.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:crm_crmsettings_change", args=[1]))
        return HttpResponseRedirect(reverse("admin:crm_crmsettings_add"))


# --- Notes, documents, document links, tasks ------------------------------------------------------


class SubjectAdminMixin:
    """Standalone admins of attached things: the content type is limited to lead, contact and
    deal, and the list shows a link to the record (one query per content type, not per row)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "content_type":
            kwargs["queryset"] = subject_content_types()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    @admin.display(description=_("attached to"))
    def subject_link(self, obj: Any) -> str:
        return admin_link(obj.subject)


@admin.register(Note)
class NoteAdmin(LargeTableAdminMixin, SubjectAdminMixin, SubjectPermissionMixin, admin.ModelAdmin):
    form = SubjectForm
    list_display = ("short_content", "subject_link", "author", "created_at")
    list_filter = ("content_type", "created_at")
    list_select_related = ("author", "content_type")
    search_fields = ("content",)  # crm.search on content_search_text() (search below)
    raw_id_fields = ("author",)
    readonly_fields = ("created_at", "updated_at")
    fields = ("content_type", "object_id", "content", "author", "created_at", "updated_at")

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return matching(queryset, content_search_text(), term)  # note_content_trgm_idx

    @admin.display(description=_("content"))
    def short_content(self, obj: Note) -> str:
        return str(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Note]:
        return super().get_queryset(request).prefetch_related("subject")

    def save_model(self, request: HttpRequest, obj: Note, form: Any, change: bool) -> None:
        if not change:
            stamp_user(obj, request.user, ("author",))
        super().save_model(request, obj, form, change)


@admin.register(Document)
class DocumentAdmin(SubjectAdminMixin, SubjectPermissionMixin, admin.ModelAdmin):
    form = SubjectDocumentForm
    list_display = (
        "name",
        "subject_link",
        "size_display",
        "mime_type",
        "uploaded_by",
        "created_at",
    )
    list_filter = ("content_type", "mime_type", "created_at")
    list_select_related = ("uploaded_by", "content_type")
    search_fields = ("name",)
    date_hierarchy = "created_at"
    raw_id_fields = ("uploaded_by",)
    readonly_fields = ("size_display", "mime_type", "created_at", "updated_at")
    fields = (
        "content_type",
        "object_id",
        "file",
        "name",
        "size_display",
        "mime_type",
        "uploaded_by",
        "created_at",
        "updated_at",
    )

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, obj: Document) -> str:
        return filesizeformat(obj.size)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).prefetch_related("subject")

    def save_model(self, request: HttpRequest, obj: Document, form: Any, change: bool) -> None:
        if not change:
            stamp_user(obj, request.user, ("uploaded_by",))
        super().save_model(request, obj, form, change)


@admin.register(DocumentLink)
class DocumentLinkAdmin(SubjectAdminMixin, admin.ModelAdmin):
    form = SubjectForm
    list_display = ("document", "content_type", "object_id")
    list_filter = ("content_type",)
    list_select_related = ("document", "content_type")
    search_fields = ("document__name",)
    raw_id_fields = ("document",)


@admin.register(Task)
class TaskAdmin(LargeTableAdminMixin, SubjectAdminMixin, RecordPermissionMixin, admin.ModelAdmin):
    form = SubjectTaskForm
    list_display = ("short_content", "subject_link", "owner", "due_at", "done", "completed_at")
    list_filter = ("done", "owner", "content_type", "due_at")
    list_select_related = ("owner", "content_type")
    search_fields = ("content",)  # crm.search on content_search_text() (search below)
    readonly_fields = ("completed_at", "created_at", "updated_at")
    fields = (
        "content_type",
        "object_id",
        "content",
        "due_at",
        "owner",
        "done",
        "completed_at",
        "created_at",
        "updated_at",
    )

    def search(self, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return matching(queryset, content_search_text(), term)  # task_content_trgm_idx

    @admin.display(description=_("content"))
    def short_content(self, obj: Task) -> str:
        return str(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        return super().get_queryset(request).prefetch_related("subject")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened (conversions, the audit log, the trash): shown, never written
    through the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log (docs/rules.md#trash)."""

    list_display = ("at", "actor", "action", "model", "summary")
    list_filter = ("action", "model")
    list_select_related = ("actor",)
    date_hierarchy = "at"


@admin.register(TrashEntry)
class TrashEntryAdmin(ReadOnlyAdmin):
    """The trash, to look at; restore and purge are on the Trash page (docs/rules.md#trash)."""

    list_display = ("deleted_at", "kind", "label", "deleted_by", "caveat")
    list_filter = ("kind",)
    list_select_related = ("deleted_by",)
    exclude = ("snapshot",)


# --- Jobs (issue 12): for operators watching the queue; read-only --------------------------------

from crm.jobs.models import Job, JobChunk, JobItem  # noqa: E402


class JobChunkInline(admin.StackedInline):
    model = JobChunk
    fields = ("number", "state", "attempts", "worker", "heartbeat_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs: state, progress, heartbeat and error of each, its chunks (which worker runs them,
    their tries). Search by id; the Jobs page shows the results to the people concerned."""

    list_display = (
        "id",
        "kind",
        "state",
        "created_by",
        "done",
        "total",
        "created_at",
        "heartbeat_at",
        "finished_at",
    )
    list_filter = ("state", "kind", "cancel_requested")
    list_select_related = ("created_by",)
    search_fields = ("=id",)
    date_hierarchy = "created_at"
    inlines = [JobChunkInline]


@admin.register(JobChunk)
class JobChunkAdmin(ReadOnlyAdmin):
    list_display = ("id", "job", "number", "state", "attempts", "worker", "heartbeat_at")
    list_filter = ("state",)
    search_fields = ("=id", "=job__id")
    exclude = ("ids",)


@admin.register(JobItem)
class JobItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "job", "key", "outcome", "label", "reason")
    list_filter = ("outcome",)
    search_fields = ("=job__id", "=key")
    show_full_result_count = False  # a 100,000-item job: no COUNT(*) on every page


# The merges (read-only) live in crm/merging/admin.py.
from crm.merging import admin as merging_admin  # noqa: E402,F401
