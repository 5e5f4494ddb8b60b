"""Contact pages: the list of people and organisations, the detail page with the manual status
change, the create/edit forms (full and quick) and the options of the contact pickers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from contacts.filters import ContactFilter
from contacts.forms import (
    AssignForm,
    ContactForm,
    ContactsDeleteForm,
    MoveOrganizationForm,
    OrganizationDeleteForm,
    QuickContactForm,
    StatusForm,
    TagsForm,
    picker_label,
    picker_search,
)
from contacts.hierarchy import employee_tree, employment_history, past_employees
from contacts.models import Contact
from contacts.selectors import (
    contact_detail,
    contact_list,
    deals_of_contact,
    employees_of,
)
from contacts.services import (
    CONTACT_TAG_SCOPES,
    contact_create,
    contact_move_organization,
    contact_notices,
    contact_set_status,
    contact_update,
    contacts_assign,
    contacts_delete,
    contacts_delete_preview,
    contacts_tag,
    organization_delete,
    organization_delete_preview,
)
from contacts.tables import ContactTable
from crm.bulk_jobs import register_bulk_action
from crm.bulk_views import FORM_PREFIX, BulkAction, bulk_action_view, filter_query
from crm.htmx import dialog_response, render_htmx, wants_partial
from crm.listing import render_list
from crm.models import CustomFieldScope
from crm.permissions import acting_user, can_change
from crm.saved_views.services import ListSpec, list_views, register_list
from crm.selection import BulkOutcome
from crm.selectors import custom_field_values, documents_for, notes_for, tasks_for

CONTACT_LIST = ListSpec(
    key="contacts",
    url_name="contacts:list",
    table=ContactTable,
    filterset=ContactFilter,
    dialog="contact",
    filter_form_id="contact-filter",
    all_label=gettext_lazy("All contacts"),
)
register_list(CONTACT_LIST)  # its saved views (crm.saved_views)


def list_view(request: HttpRequest) -> HttpResponse:
    filterset = ContactFilter(request.GET, queryset=contact_list(), request=request)
    views = list_views(request, CONTACT_LIST, filterset)  # saved views, columns, density
    return render_list(
        request,
        "contacts/contact_list.html",
        table=ContactTable(filterset.qs, kind=filterset.current_kind, **views.table_kwargs()),
        filterset=filterset,
        context={
            "kind": filterset.current_kind,
            "filter_query": filter_query(request),
            "views": views,
        },
    )


def _detail_context(request: HttpRequest, contact: Contact) -> dict[str, object]:
    employees = employees_of(contact) if contact.is_organization else []
    return {
        "contact": contact,
        "deals": list(deals_of_contact(contact)),
        "employees": employees,
        "employee_tree": employee_tree(employees),
        "past_employees": past_employees(contact) if contact.is_organization else [],
        "history": [] if contact.is_organization else employment_history(contact),
        "can_change": can_change(request.user, contact),
        "custom_fields": custom_field_values(CustomFieldScope.CONTACT, contact.custom_fields),
        "notes": notes_for(contact),
        "documents": documents_for(contact),
        "tasks": tasks_for(contact),
    }


def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_detail(pk)
    context = _detail_context(request, contact)
    context["status_form"] = StatusForm(
        initial={
            "prospect_status": contact.prospect_status,
            "customer_status": contact.customer_status,
        }
    )
    return render(request, "contacts/contact_detail.html", context)


@require_POST
def status_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The manual status change: the service says whether it is allowed and why not; a refusal
    is shown next to the field (the status card alone for HTMX, else the whole page)."""
    contact = get_object_or_404(Contact, pk=pk)
    if not can_change(request.user, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    form = StatusForm(request.POST)
    if form.is_valid():
        changes = form.changes(contact)
        try:
            contact_set_status(actor=request.user, contact=contact, **changes)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if changes:
                messages.success(request, _("Status saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return dialog_response(request, contact.get_absolute_url())
    contact = contact_detail(pk)
    if wants_partial(request):
        return render_htmx(
            request,
            "contacts/contact_detail.html",
            {"contact": contact, "status_form": form, "can_change": True},
            partial="status_card",
        )
    context = _detail_context(request, contact)
    context["status_form"] = form
    return render(request, "contacts/contact_detail.html", context, status=422)


def _contact_link(contact: Contact) -> str:
    return format_html('<a href="{}">{}</a>', contact.get_absolute_url(), contact.display_name)


def _save_contact(request: HttpRequest, form: ContactForm | QuickContactForm) -> Contact | None:
    """Write through ``contact_create`` / ``contact_update`` (a new organisation of a person is
    a move: the history keeps the old one, statuses follow); a refusal goes onto the form."""
    actor = acting_user(request)
    try:
        if form.instance.pk is None:
            return contact_create(actor=actor, data=form.record_data())
        return contact_update(actor=actor, contact=form.instance, data=form.record_data())
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    return None


def create_view(request: HttpRequest) -> HttpResponse:
    initial: dict[str, object] = {}
    kind = request.GET.get("kind")
    if kind in ("person", "organization"):
        initial["kind"] = kind
    organization = request.GET.get("organization", "")
    if organization.isdigit():
        initial["organization"] = int(organization)
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        created = _save_contact(request, form)
        if created is not None:
            messages.success(request, format_html(_("Contact {} created."), _contact_link(created)))
            return redirect(created)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    if not can_change(request.user, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    form = ContactForm(request.POST or None, instance=contact, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = _save_contact(request, form)
        if saved is not None:
            messages.success(request, _("Contact saved."))
            return redirect(saved)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


def quick_create_view(request: HttpRequest) -> HttpResponse:
    """Quick create in a dialog (HTMX) or on its own page: invalid input re-renders the form with
    its errors; success closes the dialog, refreshes the list and says what was created."""
    form = QuickContactForm(request.POST or None, user=request.user)
    contact = _save_contact(request, form) if request.method == "POST" and form.is_valid() else None
    if contact is not None:
        messages.success(request, format_html(_("Contact {} created."), _contact_link(contact)))
        if not wants_partial(request):
            return redirect(contact)
        response = render(request, "includes/messages.html", {"oob": "append"})
        trigger_client_event(response, "closeDialog")
        return trigger_client_event(response, "contactsChanged")
    return render_htmx(request, "contacts/contact_quick.html", {"form": form})


@require_GET
def options_view(request: HttpRequest) -> HttpResponse:
    """<option>s for a contact picker: the selected contact kept, then the matches."""
    kind = request.GET.get("kind", "any")
    field = request.GET.get("field", "")
    exclude_raw = request.GET.get("exclude", "")
    exclude = int(exclude_raw) if exclude_raw.isdigit() else None
    selected_ids = [int(v) for v in request.GET.getlist(field) if v.isdigit()] if field else []
    selected = list(Contact.objects.select_related("organization").filter(pk__in=selected_ids))
    matches = [
        c
        for c in picker_search(kind, request.GET.get("q", ""), exclude=exclude)
        if c.pk not in selected_ids
    ]
    options = [(c.pk, picker_label(c), True) for c in selected]
    options += [(c.pk, picker_label(c), False) for c in matches]
    return render(
        request,
        "contacts/contact_options.html",
        {"options": options, "multiple": request.GET.get("multiple") == "1"},
    )


# --------------------------------------------------------------------------------------------
# Bulk actions from the contacts table (crm.bulk_views runs them; the services decide).


def _contacts_noun(count: int) -> str:
    return ngettext("%(count)s contact", "%(count)s contacts", count) % {"count": count}


def _assign_done(outcome: BulkOutcome, form: Any) -> str:
    owner = form.cleaned_data["owner"]
    return _("%(contacts)s assigned to %(owner)s.") % {
        "contacts": _contacts_noun(outcome.changed),
        "owner": owner.get_full_name() or owner.username,
    }


COMMON: dict[str, Any] = {
    "list_url_name": "contacts:list",
    "filterset": ContactFilter,
    "queryset": lambda: Contact.objects.all(),
    "notices": contact_notices,
    "event": "contactsChanged",
    "dialog_body": "#contact-dialog-body",
}

ASSIGN = BulkAction(
    name="assign",
    url_name="contacts:bulk_assign",
    form=lambda data: AssignForm(data, prefix=FORM_PREFIX),
    run=lambda actor, ids, form: contacts_assign(
        actor=actor, contact_ids=ids, owner=form.cleaned_data["owner"]
    ),
    title=lambda n: (
        ngettext("Assign %(count)s contact", "Assign %(count)s contacts", n) % {"count": n}
    ),
    done=_assign_done,
    fields_template="contacts/_bulk_assign.html",
    **COMMON,
)

TAG = BulkAction(
    name="tag",
    url_name="contacts:bulk_tag",
    form=lambda data: TagsForm(data, prefix=FORM_PREFIX, scopes=CONTACT_TAG_SCOPES),
    run=lambda actor, ids, form: contacts_tag(
        actor=actor,
        contact_ids=ids,
        add=form.cleaned_data["add"],
        remove=form.cleaned_data["remove"],
    ),
    title=lambda n: ngettext("Tag %(count)s contact", "Tag %(count)s contacts", n) % {"count": n},
    done=lambda outcome, form: _("Tags changed on %s.") % _contacts_noun(outcome.changed),
    fields_template="contacts/_bulk_tag.html",
    submit_label=gettext_lazy("Apply"),
    **COMMON,
)

DELETE = BulkAction(
    name="delete",
    url_name="contacts:bulk_delete",
    form=lambda data: ContactsDeleteForm(data, prefix=FORM_PREFIX),
    run=lambda actor, ids, form: contacts_delete(
        actor=actor, contact_ids=ids, deals=form.cleaned_data["deals"]
    ),
    title=lambda n: (
        ngettext("Delete %(count)s contact", "Delete %(count)s contacts", n) % {"count": n}
    ),
    done=lambda outcome, form: _("%s deleted.") % _contacts_noun(outcome.changed),
    fields_template="contacts/_bulk_delete.html",
    preview=lambda actor, ids: contacts_delete_preview(actor=actor, contact_ids=ids),
    submit_label=gettext_lazy("Delete"),
    danger=True,
    **COMMON,
)


# "All N matching" above CRM_BULK_JOB_THRESHOLD runs as a job (crm.bulk_jobs).
register_bulk_action(ASSIGN, gettext_lazy("Assign contacts"))
register_bulk_action(TAG, gettext_lazy("Tag contacts"))
register_bulk_action(DELETE, gettext_lazy("Delete contacts"))


def bulk_assign_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, ASSIGN)


def bulk_tag_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, TAG)


def bulk_delete_view(request: HttpRequest) -> HttpResponse:
    return bulk_action_view(request, DELETE)


# --------------------------------------------------------------------------------------------
# Organisations and people: moving a person, deleting an organisation.


def contact_to_change(request: HttpRequest, pk: int) -> Contact:
    contact = get_object_or_404(Contact.objects.select_related("organization"), pk=pk)
    if not can_change(request.user, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    return contact


def move_organization_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a person to another organisation: the employment history keeps the old one."""
    person = contact_to_change(request, pk)
    if person.is_organization:
        raise Http404
    form = MoveOrganizationForm(
        request.POST if request.method == "POST" else None,
        person=person,
        initial={"moved_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contact_move_organization(
                actor=request.user,
                contact=person,
                organization=form.cleaned_data["organization"],
                moved_on=form.cleaned_data["moved_on"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            new = form.cleaned_data["organization"]
            if new is not None:
                text = _("%(person)s now works at %(organization)s; the history keeps the move.")
            else:
                text = _("%(person)s no longer has an organisation; the history keeps the move.")
            messages.success(request, text % {"person": person.display_name, "organization": new})
            return dialog_response(request, person.get_absolute_url())
    context = {
        "contact": person,
        "form": form,
        "history": employment_history(person),
        "reports": person.reports.filter(organization_id=person.organization_id)
        if person.organization_id
        else [],
    }
    return render_htmx(request, "contacts/contact_move.html", context)


def organization_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an organisation after saying what becomes of its employees and deals."""
    organization = contact_to_change(request, pk)
    if not organization.is_organization:
        raise Http404
    form = OrganizationDeleteForm(
        request.POST if request.method == "POST" else None, organization=organization
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = organization_delete(
                actor=request.user,
                organization=organization,
                employees=data["employees"],
                move_to=data.get("move_to"),
                deals=data["deals"],
                confirm_deals=data["confirm_deals"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            parts = [_("%s deleted.") % organization.name]
            if outcome.employees_moved:
                parts.append(
                    ngettext(
                        "%(count)s employee moved to %(org)s.",
                        "%(count)s employees moved to %(org)s.",
                        outcome.employees_moved,
                    )
                    % {"count": outcome.employees_moved, "org": data["move_to"]}
                )
            elif outcome.employees_kept:
                parts.append(
                    ngettext(
                        "%(count)s employee kept without organisation.",
                        "%(count)s employees kept without organisation.",
                        outcome.employees_kept,
                    )
                    % {"count": outcome.employees_kept}
                )
            if outcome.deals_deleted:
                parts.append(
                    ngettext(
                        "%(count)s deal deleted.", "%(count)s deals deleted.", outcome.deals_deleted
                    )
                    % {"count": outcome.deals_deleted}
                )
            elif outcome.deals_kept:
                parts.append(
                    ngettext(
                        "%(count)s deal kept without organisation.",
                        "%(count)s deals kept without organisation.",
                        outcome.deals_kept,
                    )
                    % {"count": outcome.deals_kept}
                )
            messages.success(request, " ".join(parts))
            return dialog_response(request, reverse("contacts:list"))
    context = {
        "contact": organization,
        "form": form,
        "preview": organization_delete_preview(actor=request.user, organization=organization),
    }
    return render_htmx(request, "contacts/organization_delete.html", context)
