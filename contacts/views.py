"""Contact pages: the list of people and organisations, the detail page with the manual status
change, the create/edit forms (full and quick) and the options of the contact pickers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from contacts.filters import ContactFilter
from contacts.forms import ContactForm, QuickContactForm, StatusForm, picker_label, picker_search
from contacts.models import Contact
from contacts.selectors import (
    contact_detail,
    contact_list,
    deals_of_contact,
    employees_of,
)
from contacts.services import contact_set_status, contacts_recompute_status
from contacts.tables import ContactTable
from crm.listing import render_list, wants_partial
from crm.models import CustomFieldScope
from crm.permissions import can_change
from crm.selectors import custom_field_values, documents_for, notes_for, tasks_for


def list_view(request: HttpRequest) -> HttpResponse:
    filterset = ContactFilter(request.GET, queryset=contact_list(), request=request)
    return render_list(
        request,
        "contacts/contact_list.html",
        table=ContactTable(filterset.qs),
        filterset=filterset,
        context={"kind": filterset.current_kind},
    )


def _detail_context(request: HttpRequest, contact: Contact) -> dict[str, object]:
    return {
        "contact": contact,
        "deals": list(deals_of_contact(contact)),
        "employees": employees_of(contact) if contact.is_organization else [],
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
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponseClientRedirect(contact.get_absolute_url())
            return redirect(contact)
    contact = contact_detail(pk)
    if wants_partial(request):
        return render(
            request,
            "contacts/contact_detail.html#status_card",
            {"contact": contact, "status_form": form, "can_change": True},
        )
    context = _detail_context(request, contact)
    context["status_form"] = form
    return render(request, "contacts/contact_detail.html", context, status=422)


def _contact_link(contact: Contact) -> str:
    return format_html('<a href="{}">{}</a>', contact.get_absolute_url(), contact.display_name)


def _save_contact(form: ContactForm | QuickContactForm) -> Contact:
    """Save the contact; when a person changes organisation both organisations' statuses follow
    (an employee's deals count for the organisation)."""
    before = form.initial.get("organization") if form.instance.pk else None
    contact = form.save()
    if before != contact.organization_id:
        contacts_recompute_status(contact_ids=[before, contact.organization_id, contact.pk])
    return contact


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
        contact = _save_contact(form)
        messages.success(request, format_html(_("Contact {} created."), _contact_link(contact)))
        return redirect(contact)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    if not can_change(request.user, contact):
        raise PermissionDenied(_("You may only change contacts you own."))
    form = ContactForm(request.POST or None, instance=contact, user=request.user)
    if request.method == "POST" and form.is_valid():
        contact = _save_contact(form)
        messages.success(request, _("Contact saved."))
        return redirect(contact)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


def quick_create_view(request: HttpRequest) -> HttpResponse:
    """Quick create in a dialog (HTMX) or on its own page: invalid input re-renders the form with
    its errors; success closes the dialog, refreshes the list and says what was created."""
    form = QuickContactForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        contact = _save_contact(form)
        messages.success(request, format_html(_("Contact {} created."), _contact_link(contact)))
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(contact)
        response = render(request, "contacts/contact_quick.html#created", {})
        return trigger_client_event(response, "contactsChanged")
    template = "contacts/contact_quick.html"
    if wants_partial(request):
        template += "#dialog"
    return render(request, template, {"form": form})


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
