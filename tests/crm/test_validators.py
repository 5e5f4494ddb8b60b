"""The shared input rules (crm/validators.py) and every web entry point that uses them: dates
within 1900-2200, text without control characters, links only http(s) (issue 11, findings 1, 7
and 8). Each test reproduced the defect (a 500, or a stored value that broke pages) first."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from crm.models import Task
from crm.validators import (
    is_safe_link,
    link_scheme,
    strip_control,
    validate_date_range,
    validate_multiline,
    validate_single_line,
    validate_web_link,
)
from leads.models import Lead
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
RANGE_ERROR = "Choose a date between the years 1900 and 2200."
CONTROL_ERROR = "Remove the control characters (such as NUL) from this text."
LINK_ERROR = "Enter a web address starting with http:// or https://."


# ---------------------------------------------------------------- the rules themselves


def test_date_range() -> None:
    validate_date_range(datetime.date(1900, 1, 1))
    validate_date_range(datetime.datetime(2200, 12, 31, 23, 59))
    validate_date_range(None)
    for bad in (datetime.date(1, 1, 1), datetime.date(1899, 12, 31), datetime.date(2201, 1, 1)):
        with pytest.raises(ValidationError, match="between the years"):
            validate_date_range(bad)


def test_control_characters() -> None:
    validate_single_line("Anne Martin")
    validate_multiline("line one\n\tline two\r\n")
    for bad in ("a\x00b", "a\x01b", "a\x7f", "a\x9b"):
        with pytest.raises(ValidationError):
            validate_single_line(bad)
        with pytest.raises(ValidationError):
            validate_multiline(bad)
    with pytest.raises(ValidationError):
        validate_single_line("two\nlines")
    assert strip_control("a\x00b\x01c\nd") == "abcd"
    assert strip_control("a\x00b\nc\td", multiline=True) == "ab\nc\td"


@pytest.mark.parametrize(
    "value",
    ["https://acme.example", "http://acme.example/x?y=1", "acme.example", "@acme", "acme.example:8080/x",
     "linkedin.com/in/anne", ""],
)  # fmt: skip
def test_safe_links(value: str) -> None:
    assert is_safe_link(value)
    validate_web_link(value)


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
     "java\x00script:alert(1)", "data:text/html,<script>", "vbscript:x", "file:///etc/passwd"],
)  # fmt: skip
def test_unsafe_links(value: str) -> None:
    assert not is_safe_link(value)
    with pytest.raises(ValidationError, match="http:// or https://"):
        validate_web_link(value)


def test_mailto_and_tel_only_where_asked() -> None:
    assert link_scheme("mailto:a@b.example") == "mailto"
    assert not is_safe_link("mailto:a@b.example")
    assert is_safe_link("mailto:a@b.example", ("mailto",))


# ---------------------------------------------------------------- finding 1: a task in year 1


def _task_url(subject: Any) -> str:
    kind = subject._meta.model_name
    return reverse("attachments:task_add", kwargs={"kind": kind, "pk": subject.pk})


@pytest.mark.parametrize("due", ["0001-01-01T00:00", "1899-12-31T23:59", "2201-01-01T00:00"])
@pytest.mark.parametrize("factory", [LeadFactory, ContactFactory, DealFactory])
def test_record_card_task_refuses_an_out_of_range_date(
    rep_client: Client, rep: Any, factory: Any, due: str
) -> None:
    subject = factory(owner=rep)
    response = rep_client.post(
        _task_url(subject), {"content": "Call", "due_at": due, "owner": rep.pk}, **HTMX
    )
    assert response.status_code == 200 and RANGE_ERROR in response.content.decode()
    assert not Task.objects.exists()
    assert rep_client.get(subject.get_absolute_url()).status_code == 200


def test_my_tasks_refuses_year_one_and_the_pages_stay_up(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(
        reverse("tasks:new"),
        {"content": "Call", "subject": f"lead:{lead.pk}", "due_at": "0001-01-01T00:00"},
        **HTMX,
    )
    assert response.status_code == 200 and RANGE_ERROR in response.content.decode()
    assert not Task.objects.exists()
    assert rep_client.get(reverse("tasks:list")).status_code == 200
    response = rep_client.post(
        reverse("tasks:new"),
        {"content": "Call", "subject": f"lead:{lead.pk}", "due_at": "2200-12-31T23:00"},
        **HTMX,
    )
    due_at = Task.objects.get().due_at
    assert due_at is not None and due_at.year in (2200, 2201)  # stored in UTC
    assert rep_client.get(reverse("tasks:list")).status_code == 200


def test_conversion_dialog_task_refuses_year_one(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, last_name="Moreau", company_name="")
    data = {
        "lead-first_name": lead.first_name,
        "lead-last_name": lead.last_name,
        "lead-company_name": "",
        "lead-email": lead.email,
        "offered": "",
        "create_task": "on",
        "task_content": "Call {name}",
        "task_due_at": "0001-01-01T00:00",
        "task_owner": str(rep.pk),
    }
    response = rep_client.post(reverse("leads:convert", args=[lead.pk]), data, **HTMX)
    assert response.status_code == 200 and RANGE_ERROR in response.content.decode()
    lead.refresh_from_db()
    assert not lead.is_converted and not Task.objects.exists()


def test_record_dates_refuse_out_of_range(rep_client: Client, rep: Any) -> None:
    deal = DealFactory(owner=rep)
    response = rep_client.post(
        reverse("deals:edit", args=[deal.pk]),
        {
            "name": deal.name,
            "stage": deal.stage_id,
            "value": "10",
            "currency": "EUR",
            "owner": rep.pk,
            "expected_close_date": "0001-01-01",
        },
    )
    assert response.status_code == 200 and RANGE_ERROR in response.content.decode()
    deal.refresh_from_db()
    assert deal.expected_close_date != datetime.date(1, 1, 1)


# ---------------------------------------------------------------- finding 7: control characters


def _lead_post(rep: Any, **fields: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "first_name": "Anne",
        "last_name": "Martin",
        "company_name": "Acme",
        "status": "new",
        "owner": rep.pk,
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("name", ["Ann\x01e", "Ann\x00e", "Ann\x1be"])
def test_lead_form_refuses_control_characters(rep_client: Client, rep: Any, name: str) -> None:
    response = rep_client.post(reverse("leads:create"), _lead_post(rep, first_name=name))
    assert response.status_code == 200
    page = response.content.decode()
    assert CONTROL_ERROR in page or "Null characters are not allowed." in page
    assert not Lead.objects.exists()


def test_lead_description_keeps_line_breaks(rep_client: Client, rep: Any) -> None:
    response = rep_client.post(reverse("leads:create"), _lead_post(rep, description="one\r\n\ttwo"))
    assert response.status_code == 302
    assert (
        Lead.objects.get().description == "one\n\ttwo" or "\ttwo" in Lead.objects.get().description
    )


def test_note_and_task_refuse_control_characters(rep_client: Client, rep: Any) -> None:
    contact = ContactFactory(owner=rep)
    url = reverse("attachments:note_add", kwargs={"kind": "contact", "pk": contact.pk})
    response = rep_client.post(url, {"content": "hello\x01"}, **HTMX)
    assert CONTROL_ERROR in response.content.decode()
    response = rep_client.post(_task_url(contact), {"content": "Call\x02", "owner": rep.pk}, **HTMX)
    assert CONTROL_ERROR in response.content.decode()
    assert not Task.objects.exists()


@pytest.mark.parametrize("q", ["\x00", "an\x00ne", "\x01", "%00"])
def test_contact_options_search_with_nul(rep_client: Client, rep: Any, q: str) -> None:
    ContactFactory(owner=rep, first_name="Anne", last_name="Martin")
    response = rep_client.get(reverse("contacts:options"), {"q": q, "kind": "any"})
    assert response.status_code == 200


@pytest.mark.parametrize("url_name", ["leads:list", "contacts:list", "deals:list"])
def test_list_filters_with_nul(rep_client: Client, rep: Any, url_name: str) -> None:
    response = rep_client.get(reverse(url_name), {"q": "a\x00b", "name": "\x00", "search": "\x00"})
    assert response.status_code == 200


# ---------------------------------------------------------------- finding 8: javascript: links


@pytest.mark.parametrize("field", ["website", "linkedin", "facebook", "social_x"])
def test_lead_form_refuses_javascript_links(rep_client: Client, rep: Any, field: str) -> None:
    response = rep_client.post(
        reverse("leads:create"), _lead_post(rep, **{field: "javascript:alert(1)"})
    )
    assert response.status_code == 200 and LINK_ERROR in response.content.decode()
    assert not Lead.objects.exists()


def test_contact_form_refuses_javascript_links(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(owner=rep)
    response = rep_client.post(
        reverse("contacts:edit", args=[org.pk]),
        {"kind": "organization", "name": org.name, "owner": rep.pk, "website": "javascript:x"},
    )
    assert response.status_code == 200 and LINK_ERROR in response.content.decode()


def test_stored_javascript_link_renders_as_text(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(
        owner=rep, website="javascript://%0aalert(1)", linkedin="javascript:alert(2)"
    )
    page = rep_client.get(lead.get_absolute_url()).content.decode()
    assert 'href="javascript:' not in page.replace(" ", "")
    assert "javascript://%0aalert(1)" in page  # shown, as text
    contact = ContactFactory(owner=rep, website="JavaScript://x.example/%0aalert(1)")
    page = rep_client.get(contact.get_absolute_url()).content.decode()
    assert 'href="javascript:' not in page.lower().replace(" ", "")


def _settings_forms() -> list[tuple[str, Any, dict[str, Any]]]:
    from crm.forms import LeadSourceForm, TagForm
    from crm.models import Scope
    from deals.api import DealUnqualifiedReasonForm, LossReasonForm
    from deals.models import Pipeline
    from deals.settings_pages import StageForm

    pipeline = Pipeline.objects.first()
    return [
        ("tag", TagForm, {"name": "VIP\x01", "scope": Scope.LEADS}),
        ("source", LeadSourceForm, {"name": "Salon\x00"}),
        ("loss reason", LossReasonForm, {"name": "Prix\x07"}),
        ("unqualified reason", DealUnqualifiedReasonForm, {"name": "Hors\x1bcible"}),
        ("stage", lambda data: StageForm(data, pipeline=pipeline), {"name": "Devis\x01"}),
    ]


@pytest.mark.parametrize("index", range(5))
def test_settings_names_refuse_control_characters(index: int) -> None:
    """Names in the settings (tags, sources, stages, reasons) follow docs/rules.md#input-text
    too: a control character is refused next to the field."""
    _label, form_class, data = _settings_forms()[index]
    form = form_class(data)
    assert not form.is_valid()
    assert "Remove the control characters" in str(form.errors["name"])
