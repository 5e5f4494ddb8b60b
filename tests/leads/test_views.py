"""The lead pages of issue 4: wiring, permissions (also for crafted ids), invalid input, HTMX
partials and query counts of the list, inline cells, create/edit, and the conversion dialogs."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from crm.jobs.models import Job
from crm.models import CrmSettings, LeadSource, Task
from deals.models import Deal
from leads import views
from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    LeadFactory,
    OrganizationFactory,
    TagFactory,
    make_note,
)
from tests.jobs import drain

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def primary_names(page: str) -> list[str]:
    cells = re.findall(r'<td class="cell-primary">(.*?)</td>', page, re.S)
    cells = [re.sub(r'<span class="visually-hidden">.*?</span>', "", c) for c in cells]
    tags = r'<span class="cell-tags">(?:<span class="tag">[^<]*</span>)*</span>'
    cells = [re.sub(tags, "", c) for c in cells]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def card_names(page: str) -> list[str]:
    return re.findall(r'class="lead-card__name" href="[^"]+">([^<]+)</a>', page)


def triggers(response: Any) -> set[str]:
    header = response.headers.get("HX-Trigger", "")
    return set(json.loads(header)) if header.startswith("{") else {header} - {""}


# ---------------------------------------------------------------- list: table and index


def test_table_has_checkboxes_toolbar_and_row_links(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(first_name="Anne", last_name="Martin", owner=rep)
    page = html(rep_client.get(reverse("leads:list"), {"status": "new"}))
    assert f'name="pk" value="{lead.pk}"' in page and 'form="lead-bulk"' in page
    assert '<form id="lead-bulk"' in page and "data-select-page" in page
    assert f'href="{lead.get_absolute_url()}"' in page
    # "All N matching" carries the filter's query string, not ids.
    assert 'href="/leads/convert/?all=1&amp;status=new"' in page
    assert "Convert the 1 lead matching this filter" in page
    # The rep's own lead can be edited in place.
    assert reverse("leads:inline", args=[lead.pk, "name"]) in page
    assert reverse("leads:inline", args=[lead.pk, "company"]) in page


def test_no_inline_edit_of_another_reps_lead(rep_client: Client, other_rep: Any) -> None:
    lead = LeadFactory(owner=other_rep)
    page = html(rep_client.get(reverse("leads:list")))
    assert reverse("leads:inline", args=[lead.pk, "name"]) not in page


def test_converted_tab_has_no_selection(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, last_name="Gone")
    leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions(create_deal=False))
    page = html(rep_client.get(reverse("leads:list"), {"state": "converted"}))
    assert "Gone" in page
    assert 'name="pk"' not in page and '<form id="lead-bulk"' not in page


def test_index_view_shares_filters_and_keeps_the_query_string(rep_client: Client) -> None:
    LeadFactory(first_name="Anne", last_name="Martin", status="working")
    LeadFactory(first_name="Bruno", last_name="Petit", status="new")
    url = reverse("leads:list")
    page = html(rep_client.get(url, {"view": "cards", "status": "working"}))
    assert card_names(page) == ["Anne Martin"]
    assert '<input type="hidden" name="view" value="cards" form="lead-filter">' in page
    # The switch back to the table keeps the filter.
    assert 'href="?status=working"' in page
    table = html(rep_client.get(url, {"status": "working"}))
    assert 'href="?status=working&amp;view=cards"' in table
    partial = html(rep_client.get(url, {"view": "cards"}, headers=HTMX))
    assert partial.lstrip().startswith('<section id="results"')
    assert sorted(card_names(partial)) == ["Anne Martin", "Bruno Petit"]


def test_filters_tags_created_and_custom_fields(rep_client: Client) -> None:
    CustomFieldFactory(
        scope="lead", key="size", label="Size", field_type="choice", choices=["S", "M", "L"]
    )
    CustomFieldFactory(scope="lead", key="hot", label="Hot", field_type="checkbox")
    CustomFieldFactory(scope="lead", key="note", label="Free text", field_type="text")
    vip, other = TagFactory(name="vip"), TagFactory(name="other")
    a = LeadFactory(first_name="A", last_name="Aa", tags=[vip], custom_fields={"size": "M"})
    b = LeadFactory(first_name="B", last_name="Bb", tags=[other], custom_fields={"hot": True})
    LeadFactory(first_name="C", last_name="Cc", custom_fields={"hot": False, "size": "S"})
    Lead.objects.filter(pk=a.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    Lead.objects.filter(pk=b.pk).update(created_at=timezone.now() - datetime.timedelta(days=10))

    def names(**params: Any) -> set[str]:
        return set(primary_names(html(rep_client.get(reverse("leads:list"), params))))

    page = html(rep_client.get(reverse("leads:list")))
    assert 'name="cf_size"' in page and 'name="cf_hot"' in page and "cf_note" not in page
    assert names(tags=vip.pk) == {"A Aa"}
    assert names(tags=[vip.pk, other.pk]) == {"A Aa", "B Bb"}
    since = (timezone.localdate() - datetime.timedelta(days=20)).isoformat()
    until = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    assert names(created_after=since) == {"B Bb", "C Cc"}
    assert names(created_after=since, created_before=until) == {"B Bb"}
    assert names(cf_size="M") == {"A Aa"}
    assert names(cf_hot="yes") == {"B Bb"}
    assert names(cf_hot="no") == {"A Aa", "C Cc"}
    # An invalid value is refused by the form and does not filter (never a 500).
    assert len(names(cf_size="XXL")) == 3


def _bulk_leads(count: int, owner: Any) -> None:
    tags = [TagFactory(), TagFactory()]
    source = LeadSource.objects.first()
    leads = Lead.objects.bulk_create(
        Lead(
            first_name=f"First{i}",
            last_name=f"Last{i}",
            company_name=f"Company {i}",
            email=f"lead{i}@example.com",
            owner=owner,
            source=source,
        )
        for i in range(count)
    )
    through = Lead.tags.through
    through.objects.bulk_create(
        through(lead_id=lead.pk, tag_id=tag.pk) for lead in leads for tag in tags
    )


@pytest.mark.parametrize("view", ["table", "cards"])
def test_list_queries_do_not_grow_with_rows(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    view: str,
) -> None:
    CustomFieldFactory(
        scope="lead", key="size", label="Size", field_type="choice", choices=["S", "M"]
    )
    params: dict[str, str | int] = {"per_page": 100, "view": view}
    _bulk_leads(5, rep)
    rep_client.get(reverse("leads:list"), params)  # warm caches
    with django_assert_max_num_queries(14) as small:
        html(rep_client.get(reverse("leads:list"), params))
    _bulk_leads(100, rep)
    _bulk_leads(100, other_rep)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = html(rep_client.get(reverse("leads:list"), params))
    assert page.count('name="pk"') == 100
    assert 'data-select-page="lead-bulk"' in page


# ---------------------------------------------------------------- inline cells


def test_inline_edit_name_and_company(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(first_name="Anne", last_name="Martin", company_name="Acme", owner=rep)
    url = reverse("leads:inline", args=[lead.pk, "name"])
    form = html(rep_client.get(url, headers=HTMX))
    assert 'name="first_name"' in form and 'value="Martin"' in form and 'hx-post="' in form
    cell = html(rep_client.post(url, {"first_name": "Annie", "last_name": "Marin"}, headers=HTMX))
    assert "Annie Marin" in cell and "<form" not in cell
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name) == ("Annie", "Marin")

    company = reverse("leads:inline", args=[lead.pk, "company"])
    cell = html(rep_client.post(company, {"company_name": "Acme SA"}, headers=HTMX))
    assert "Acme SA" in cell
    assert html(rep_client.get(company + "?cancel=1", headers=HTMX)).count("Acme SA") == 1


def test_inline_edit_keeps_the_name_or_company_rule(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(first_name="Anne", last_name="Martin", company_name="", owner=rep)
    url = reverse("leads:inline", args=[lead.pk, "name"])
    cell = html(rep_client.post(url, {"first_name": "Anne", "last_name": ""}, headers=HTMX))
    assert "A lead needs a last name or a company name." in cell and "<form" in cell
    lead.refresh_from_db()
    assert lead.last_name == "Martin"


def test_inline_edit_refused_for_other_reps_and_converted_leads(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    theirs = LeadFactory(last_name="Theirs", owner=other_rep)
    url = reverse("leads:inline", args=[theirs.pk, "name"])
    assert "You may only change leads you own." in html(rep_client.get(url, headers=HTMX))
    response = rep_client.post(url, {"first_name": "X", "last_name": "Hacked"}, headers=HTMX)
    assert response.status_code == 403 and response["HX-Refused"] == "true"
    theirs.refresh_from_db()
    assert theirs.last_name == "Theirs"

    mine = LeadFactory(last_name="Mine", owner=rep)
    leads_convert(actor=rep, lead_ids=[mine.pk], options=ConversionOptions(create_deal=False))
    url = reverse("leads:inline", args=[mine.pk, "company"])
    response = rep_client.post(url, {"company_name": "Changed"}, headers=HTMX)
    assert response.status_code == 403 and "read-only" in response.content.decode()

    assert rep_client.get(reverse("leads:inline", args=[mine.pk, "email"])).status_code == 404
    # Without HTMX the cell link is the edit page.
    own = LeadFactory(owner=rep)
    response = rep_client.get(reverse("leads:inline", args=[own.pk, "name"]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "leads:edit", args=[own.pk]
    )


# ---------------------------------------------------------------- create, edit, quick create


def test_create_with_tags_and_custom_fields(rep_client: Client, rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    CustomFieldFactory(
        scope="lead", key="size", label="Size", field_type="choice", choices=["S", "M"]
    )
    vip = TagFactory(name="vip")
    page = html(rep_client.get(reverse("leads:create")))
    assert 'name="cf_budget"' in page and 'name="tags"' in page
    data = {
        "first_name": "Anne",
        "last_name": "Martin",
        "status": "new",
        "owner": rep.pk,
        "tags": [vip.pk],
        "cf_budget": "12,5",
        "cf_size": "M",
    }
    response = rep_client.post(reverse("leads:create"), data)
    lead = Lead.objects.get(last_name="Martin")
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    assert lead.custom_fields == {"budget": "12.5", "size": "M"}
    assert list(lead.tags.all()) == [vip]


def test_create_errors_in_place(rep_client: Client, rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    data = {"first_name": "Anne", "status": "new", "cf_budget": "lots", "email": "nope"}
    page = html(rep_client.post(reverse("leads:create"), data))
    assert page.count("A lead needs a last name or a company name.") >= 2
    assert 'id="id_last_name-error"' in page and 'id="id_company_name-error"' in page
    assert "Budget must be a number." in page and 'id="id_cf_budget-error"' in page
    assert 'id="id_email-error"' in page
    assert not Lead.objects.exists()


def test_edit_own_lead_keeps_unknown_custom_keys(rep_client: Client, rep: Any) -> None:
    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    lead = LeadFactory(owner=rep, custom_fields={"budget": "10", "legacy": "kept"})
    page = html(rep_client.get(reverse("leads:edit", args=[lead.pk])))
    assert 'value="10"' in page
    data = {
        "first_name": lead.first_name,
        "last_name": "Changed",
        "status": "working",
        "owner": rep.pk,
        "cf_budget": "",
    }
    response = rep_client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.last_name == "Changed" and lead.custom_fields == {"legacy": "kept"}


def test_edit_refused_for_crafted_ids(
    rep_client: Client, rep: Any, other_rep: Any, manager_client: Client
) -> None:
    theirs = LeadFactory(owner=other_rep, last_name="Theirs")
    url = reverse("leads:edit", args=[theirs.pk])
    assert rep_client.get(url).status_code == 403
    assert rep_client.post(url, {"last_name": "Hacked", "status": "new"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.last_name == "Theirs"
    assert manager_client.get(url).status_code == 200
    assert rep_client.get(reverse("leads:edit", args=[999999])).status_code == 404
    # An unowned lead may be changed by any rep.
    unowned = LeadFactory(owner=None)
    assert rep_client.get(reverse("leads:edit", args=[unowned.pk])).status_code == 200


def test_lead_page_buttons(rep_client: Client, rep: Any, other_rep: Any) -> None:
    mine = LeadFactory(owner=rep)
    page = html(rep_client.get(mine.get_absolute_url()))
    assert reverse("leads:edit", args=[mine.pk]) in page
    assert f'hx-get="{reverse("leads:convert", args=[mine.pk])}"' in page
    assert 'id="lead-dialog"' in page
    theirs = LeadFactory(owner=other_rep)
    page = html(rep_client.get(theirs.get_absolute_url()))
    assert reverse("leads:convert", args=[theirs.pk]) not in page
    assert reverse("leads:edit", args=[theirs.pk]) not in page


def test_quick_create_in_a_dialog(rep_client: Client, rep: Any) -> None:
    url = reverse("leads:quick_create")
    dialog = html(rep_client.get(url, headers=HTMX))
    assert dialog.lstrip().startswith("<form") and "<html" not in dialog
    invalid = html(rep_client.post(url, {"first_name": "Solo"}, headers=HTMX))
    assert "A lead needs a last name or a company name." in invalid
    response = rep_client.post(
        url, {"company_name": "Acme", "email": "hello@acme.example"}, headers=HTMX
    )
    lead = Lead.objects.get(company_name="Acme")
    assert lead.owner == rep
    assert {"closeDialog", "leadsChanged"} <= triggers(response)
    body = html(response)
    assert 'hx-swap-oob="beforeend:#messages"' in body and lead.get_absolute_url() in body
    # Without JavaScript: a page, then the lead's page.
    assert "<html" in html(rep_client.get(url))
    response = rep_client.post(url, {"last_name": "Page"})
    assert response.status_code == 302


# ---------------------------------------------------------------- single conversion


def _convert_data(lead: Lead, **extra: Any) -> dict[str, Any]:
    data = {
        "lead-first_name": lead.first_name,
        "lead-last_name": lead.last_name,
        "lead-company_name": lead.company_name,
        "lead-email": lead.email,
        "offered": "",
        "create_deal": "on",
        "deal_name": lead.display_name,
        "deal_value": "1200",
        "deal_currency": "EUR",
    }
    data.update(extra)
    return data


def test_convert_dialog_shows_duplicates_with_reasons(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Atelier Moreau", owner=rep)
    person = ContactFactory(first_name="Élodie", last_name="Moreau", email="e@m.fr", owner=rep)
    lead = LeadFactory(
        first_name="Élodie",
        last_name="Moreau",
        company_name="Atelier Moreau",
        email="e@m.fr",
        owner=rep,
    )
    dialog = html(rep_client.get(reverse("leads:convert", args=[lead.pk]), headers=HTMX))
    assert dialog.lstrip().startswith("<form") and "<html" not in dialog
    assert f"Merge into {person.full_name}" in dialog and "same email e@m.fr" in dialog
    assert "Merge into Atelier Moreau" in dialog and "same name “Atelier Moreau”" in dialog
    # Default: the first match (the service's automatic rule), else "create new".
    assert f'name="person" value="{person.pk}" checked' in dialog
    assert f'name="organization" value="{org.pk}" checked' in dialog
    assert f'name="offered" value="{person.pk},{org.pk}"' in dialog
    assert 'name="deal_name"' in dialog and 'value="Élodie Moreau"' in dialog
    assert 'name="lead-first_name"' in dialog  # the profile is editable
    # Without JavaScript, the same form is a page.
    page = html(rep_client.get(reverse("leads:convert", args=[lead.pk])))
    assert "<html" in page and f'action="{reverse("leads:convert", args=[lead.pk])}"' in page


def test_convert_with_deal_task_and_edits(rep_client: Client, rep: Any) -> None:
    org = OrganizationFactory(name="Atelier Moreau", owner=rep)
    lead = LeadFactory(
        first_name="Elo", last_name="Moreau", company_name="Atelier Moreau", owner=rep
    )
    make_note(lead, "Met at the fair")
    due = (timezone.localtime() + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    data = _convert_data(
        lead,
        **{
            "lead-first_name": "Élodie",
            "lead-title": "CEO",
            "offered": str(org.pk),
            "organization": str(org.pk),
            "deal_name": "Moreau lighting",
            "create_task": "on",
            "task_content": "Call {name}",
            "task_due_at": due,
            "task_owner": str(rep.pk),
        },
    )
    response = rep_client.post(reverse("leads:convert", args=[lead.pk]), data, headers=HTMX)
    body = html(response)
    assert {"closeDialog", "leadsConverted"} <= triggers(response)
    conversion = LeadConversion.objects.get(lead=lead)
    assert conversion.organization == org and conversion.organization_merged
    assert conversion.person is not None and conversion.person.first_name == "Élodie"
    assert conversion.person.title == "CEO"
    assert conversion.deal is not None and conversion.deal.name == "Moreau lighting"
    assert conversion.deal.value == 1200 and conversion.deal.currency == "EUR"
    assert conversion.task_id is not None
    task = Task.objects.get(pk=conversion.task_id)
    assert task.content == "Call Élodie Moreau" and task.owner == rep
    lead.refresh_from_db()
    assert lead.is_converted and lead.first_name == "Élodie"  # edits saved, then converted
    for url in (
        conversion.person.get_absolute_url(),
        org.get_absolute_url(),
        conversion.deal.get_absolute_url(),
    ):
        assert url in body
    assert "(merged)" in body and "(created)" in body


def test_convert_without_javascript_redirects_to_the_lead(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, company_name="")
    response = rep_client.post(
        reverse("leads:convert", args=[lead.pk]), _convert_data(lead), follow=True
    )
    body = html(response)
    assert response.redirect_chain[-1][0] == lead.get_absolute_url()
    assert f"{lead.display_name} converted:" in body and "Converted on" in body


def test_convert_create_new_instead_of_merging(rep_client: Client, rep: Any) -> None:
    existing = ContactFactory(first_name="Anne", last_name="Martin", email="a@x.fr", owner=rep)
    lead = LeadFactory(
        first_name="Anne", last_name="Martin", company_name="", email="a@x.fr", owner=rep
    )
    data = _convert_data(lead, offered=str(existing.pk), person="new", create_deal="")
    response = rep_client.post(reverse("leads:convert", args=[lead.pk]), data, headers=HTMX)
    assert response.status_code == 200
    conversion = LeadConversion.objects.get(lead=lead)
    assert conversion.person_id != existing.pk and not conversion.person_merged
    assert conversion.deal is None


def test_convert_invalid_input_rerenders_and_writes_nothing(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(first_name="Anne", last_name="Martin", company_name="", owner=rep)
    url = reverse("leads:convert", args=[lead.pk])
    data = _convert_data(
        lead,
        **{"lead-last_name": "", "lead-first_name": "Changed", "deal_value": "-5"},
        create_task="on",
        task_content="",
        deal_currency="E1",
    )
    dialog = html(rep_client.post(url, data, headers=HTMX))
    assert dialog.lstrip().startswith("<form")
    assert "A lead needs a last name or a company name." in dialog
    assert "Say what the task is." in dialog
    assert "Ensure this value is greater than or equal to 0." in dialog
    lead.refresh_from_db()
    assert lead.first_name == "Anne" and not lead.is_converted
    assert not Contact.objects.exists() and not Deal.objects.exists()
    # A crafted duplicate id that was not offered is refused by the form.
    other = ContactFactory(owner=rep)
    data = _convert_data(lead, person=str(other.pk))
    dialog = html(rep_client.post(url, data, headers=HTMX))
    assert "Select a valid choice." in dialog and not LeadConversion.objects.exists()


def test_convert_refusal_shows_the_reason_and_rolls_back_edits(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    theirs = ContactFactory(first_name="Anne", last_name="Martin", email="a@x.fr", owner=other_rep)
    lead = LeadFactory(
        first_name="Anne", last_name="Martin", company_name="", email="a@x.fr", owner=rep
    )
    data = _convert_data(
        lead, **{"lead-title": "Edited"}, offered=str(theirs.pk), person=str(theirs.pk)
    )
    dialog = html(rep_client.post(reverse("leads:convert", args=[lead.pk]), data, headers=HTMX))
    assert "Not converted:" in dialog and "You may not change Anne Martin" in dialog
    lead.refresh_from_db()
    assert not lead.is_converted and lead.title != "Edited"


def test_convert_edits_that_change_the_duplicates_are_shown_again(
    rep_client: Client, rep: Any
) -> None:
    existing = ContactFactory(email="new@x.fr", owner=rep)
    lead = LeadFactory(company_name="", email="old@x.fr", owner=rep)
    data = _convert_data(lead, **{"lead-email": "new@x.fr"})
    dialog = html(rep_client.post(reverse("leads:convert", args=[lead.pk]), data, headers=HTMX))
    assert "Your changes found other possible duplicates" in dialog
    assert f'name="person" value="{existing.pk}" checked' in dialog
    assert not LeadConversion.objects.exists()


def test_convert_submitted_twice_says_already_converted_not_other_duplicates(
    rep_client: Client, rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, item 11 (tests/leads/conversion/test_concurrency.py has it with real threads):
    the other submit converts the lead between this one's read of the lead and its duplicate
    search, which then finds the contacts it made."""
    lead = LeadFactory(first_name="Anne", last_name="Martin", email="a@x.fr", owner=rep)
    real_find = views.find_duplicates

    def find_after_the_other_submit(*args: Any, **kwargs: Any) -> Any:
        if not Lead.objects.converted().filter(pk=lead.pk).exists():
            leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions())
        return real_find(*args, **kwargs)

    monkeypatch.setattr(views, "find_duplicates", find_after_the_other_submit)
    response = rep_client.post(
        reverse("leads:convert", args=[lead.pk]), _convert_data(lead), headers=HTMX
    )
    body = html(response)
    assert "other possible duplicates" not in body
    assert "already converted" in body and "closeDialog" in triggers(response)
    assert LeadConversion.objects.filter(lead=lead).count() == 1


def test_convert_refused_for_crafted_ids_and_converted_leads(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    theirs = LeadFactory(owner=other_rep)
    url = reverse("leads:convert", args=[theirs.pk])
    assert rep_client.get(url, headers=HTMX).status_code == 403
    assert rep_client.post(url, _convert_data(theirs), headers=HTMX).status_code == 403
    assert not LeadConversion.objects.exists()
    assert rep_client.get(reverse("leads:convert", args=[999999])).status_code == 404

    mine = LeadFactory(owner=rep)
    leads_convert(actor=rep, lead_ids=[mine.pk], options=ConversionOptions(create_deal=False))
    response = rep_client.post(
        reverse("leads:convert", args=[mine.pk]), _convert_data(mine), headers=HTMX
    )
    assert "closeDialog" in triggers(response)
    assert "already converted" in response.content.decode()
    assert LeadConversion.objects.filter(lead=mine).count() == 1


def test_convert_defaults_come_from_the_settings(rep_client: Client, rep: Any) -> None:
    settings = CrmSettings.load()
    settings.convert_create_deal = False
    settings.convert_create_task = True
    settings.convert_task_content = "Welcome call to {name}"
    settings.save()
    lead = LeadFactory(owner=rep)
    dialog = html(rep_client.get(reverse("leads:convert", args=[lead.pk]), headers=HTMX))
    assert re.search(r'name="create_deal" id="id_create_deal"(?! checked)', dialog)
    assert re.search(r'name="create_task" id="id_create_task" checked', dialog)
    assert 'value="Welcome call to {name}"' in dialog


# ---------------------------------------------------------------- bulk conversion


def test_bulk_dialog_and_result_with_a_refused_lead(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    mine = [LeadFactory(owner=rep, last_name=f"Mine{i}") for i in range(3)]
    theirs = LeadFactory(owner=other_rep, last_name="Theirs")
    ids = [lead.pk for lead in [*mine, theirs]]
    url = reverse("leads:bulk_convert")
    dialog = html(rep_client.get(url, {"pk": ids}, headers=HTMX))
    assert "Convert 4 selected leads" in dialog and 'name="deal_name"' not in dialog
    assert 'name="lead-first_name"' not in dialog  # no name/company editing in bulk
    assert all(f'name="pk" value="{pk}"' in dialog for pk in ids)

    response = rep_client.post(url, {"pk": ids, "create_deal": "on"}, headers=HTMX)
    result = html(response)
    assert "leadsConverted" in triggers(response)
    assert LeadConversion.objects.count() == 3 and Deal.objects.count() == 3
    assert "You may only convert leads you own" in result and "Theirs" in result
    for lead in mine:
        conversion = LeadConversion.objects.get(lead=lead)
        assert conversion.person and conversion.person.get_absolute_url() in result
        assert conversion.deal and conversion.deal.get_absolute_url() in result
    theirs.refresh_from_db()
    assert not theirs.is_converted


def test_bulk_all_matching_is_resolved_from_the_filter(
    rep_client: Client, rep: Any, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    working = [LeadFactory(owner=rep, status="working") for _ in range(3)]
    new = LeadFactory(owner=rep, status="new")
    url = reverse("leads:bulk_convert")
    dialog = html(rep_client.get(url, {"all": "1", "status": "working"}, headers=HTMX))
    assert "Convert all 3 leads matching the filter" in dialog
    assert '<input type="hidden" name="status" value="working">' in dialog
    assert 'name="pk"' not in dialog  # no ids travel
    response = rep_client.post(
        url, {"all": "1", "status": "working", "create_deal": ""}, headers=HTMX
    )
    html(response)
    assert set(LeadConversion.objects.values_list("lead_id", flat=True)) == {
        lead.pk for lead in working
    }
    new.refresh_from_db()
    assert not new.is_converted


def test_bulk_result_caps_the_rows_but_keeps_exact_totals(
    rep_client: Client, rep: Any, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    _bulk_leads(150, rep)
    url = reverse("leads:bulk_convert")
    response = rep_client.post(url, {"all": "1", "create_deal": "on"}, headers=HTMX)
    result = html(response)
    assert LeadConversion.objects.count() == 150
    assert "…and 50 more converted leads." in result
    assert result.count('class="result-row"') == 100
    assert re.search(r"<dt>Converted</dt><dd>150</dd>", result)
    assert re.search(r"<dt>Deals</dt><dd>150</dd>", result)


def test_bulk_invalid_input(rep_client: Client, rep: Any) -> None:
    url = reverse("leads:bulk_convert")
    empty = html(rep_client.get(url, headers=HTMX))
    assert "Tick the leads to convert" in empty
    assert rep_client.get(url).status_code == 302  # a message on the list without JavaScript
    assert rep_client.get(url, {"pk": "abc"}).status_code == 302
    lead = LeadFactory(owner=rep)
    dialog = html(
        rep_client.post(
            url, {"pk": [lead.pk], "create_task": "on", "task_content": ""}, headers=HTMX
        )
    )
    assert "Say what the task is." in dialog and not LeadConversion.objects.exists()
    # Ids of leads that do not exist are refused one by one with a reason.
    result = html(rep_client.post(url, {"pk": [999999]}, headers=HTMX))
    assert "There is no lead #999999." in result


def test_bulk_page_without_javascript(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    page = html(rep_client.get(reverse("leads:bulk_convert"), {"pk": [lead.pk]}))
    assert "<html" in page and "Convert 1 selected lead" in page
    result = html(rep_client.post(reverse("leads:bulk_convert"), {"pk": [lead.pk]}))
    assert "<html" in result and "Conversion results" in result


# ---------------------------------------------------------------- converted lead and undo


def _converted(actor: Any, **kwargs: Any) -> tuple[Lead, LeadConversion]:
    lead = LeadFactory(**kwargs)
    leads_convert(actor=actor, lead_ids=[lead.pk], options=ConversionOptions(create_deal=True))
    lead.refresh_from_db()
    return lead, LeadConversion.objects.get(lead=lead)


def test_converted_lead_page_is_read_only_with_undo(rep_client: Client, rep: Any) -> None:
    lead, conversion = _converted(rep, owner=rep)
    page = html(rep_client.get(lead.get_absolute_url()))
    assert reverse("leads:edit", args=[lead.pk]) not in page
    assert reverse("leads:convert", args=[lead.pk]) not in page
    assert f'action="{reverse("leads:undo", args=[lead.pk])}"' in page
    assert rep_client.get(reverse("leads:undo", args=[lead.pk])).status_code == 405
    response = rep_client.post(reverse("leads:undo", args=[lead.pk]), follow=True)
    body = html(response)
    assert "Conversion undone" in body
    lead.refresh_from_db()
    assert not lead.is_converted
    assert not Deal.objects.filter(pk=conversion.deal_id or 0).exists()


def test_undo_refused_for_another_rep_and_blocked_by_later_work(
    rep_client: Client, rep: Any, other_rep: Any, manager_client: Client
) -> None:
    lead, conversion = _converted(other_rep, owner=other_rep)
    page = html(rep_client.get(lead.get_absolute_url()))
    assert "Only a manager or the rep who converted this lead may undo it." in page
    assert f'action="{reverse("leads:undo", args=[lead.pk])}"' not in page
    body = html(rep_client.post(reverse("leads:undo", args=[lead.pk]), follow=True))
    assert "Only a manager or the rep who converted this lead may undo it." in body
    lead.refresh_from_db()
    assert lead.is_converted

    assert conversion.person is not None
    make_note(conversion.person, "Later work")
    page = html(manager_client.get(lead.get_absolute_url()))
    assert "Undo is not possible, because:" in page
    assert "Notes were added to the new records since." in page
    body = html(manager_client.post(reverse("leads:undo", args=[lead.pk]), follow=True))
    assert "The conversion was not undone:" in body
    lead.refresh_from_db()
    assert lead.is_converted


def test_undo_of_an_active_lead_says_there_is_nothing(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, status=LeadStatus.NEW)
    body = html(rep_client.post(reverse("leads:undo", args=[lead.pk]), follow=True))
    assert "nothing to undo" in body


def test_bulk_all_matching_ten_thousand_leads(
    rep_client: Client, rep: Any, other_rep: Any, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    """ "All N matching" for 10,000+ leads: above the threshold a job (docs/rules.md#bulk-job),
    exact totals, a capped result page, and a number of queries that does not depend on the
    number of leads rendered."""
    _bulk_leads(10_000, rep)
    _bulk_leads(50, other_rep)
    url = reverse("leads:bulk_convert")
    dialog = html(rep_client.get(url, {"all": "1"}, headers=HTMX))
    assert "Convert all 10050 leads matching the filter" in dialog
    started = html(rep_client.post(url, {"all": "1", "create_deal": "on"}, headers=HTMX))
    job = Job.objects.get()
    assert f'id="bulk-job-{job.pk}"' in started and not LeadConversion.objects.exists()
    drain()
    with django_assert_max_num_queries(16):
        response = rep_client.get(reverse("leads:bulk_convert_job", args=[job.pk]), headers=HTMX)
    result = html(response)
    assert LeadConversion.objects.count() == 10_000
    assert re.search(r"<dt>Converted</dt><dd>10,000</dd>", result)
    assert re.search(r"<dt>Refused</dt><dd>50</dd>", result)
    assert "…and 9900 more converted leads." in result
    assert result.count('class="result-row"') == 100
    assert result.count("result-row--refused") == 50


def test_a_status_filter_reads_the_status_alone(rep_client: Client, rep: Any) -> None:
    """An active lead's status is never "converted" and a converted lead's always is (the check
    constraint ``lead_converted_status_matches``): filtered by a status, the active leads are
    those of that status, a condition the status indexes count without reading the rows (the
    list's count at 1,000,000 leads: a scan of the table to the 10,001st lead "working", 16 ms,
    against 2-7 ms from the index). The same leads as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    working = LeadFactory(owner=rep, last_name="Alvarez", status="working")
    LeadFactory(owner=rep, last_name="Brunet", status="new")
    converted = LeadFactory(owner=rep, last_name="Gone", status="working")
    leads_convert(actor=rep, lead_ids=[converted.pk])
    with CaptureQueriesContext(connection) as ctx:
        page = html(rep_client.get(reverse("leads:list"), {"status": "working"}))
    assert working.last_name in page and "Brunet" not in page and "Gone" not in page
    counted = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"]]
    assert counted and not any('"converted_at" IS NULL' in sql for sql in counted), counted
    converted_view = html(
        rep_client.get(reverse("leads:list"), {"state": "converted", "status": "working"})
    )
    assert "Gone" not in converted_view and working.last_name not in converted_view
