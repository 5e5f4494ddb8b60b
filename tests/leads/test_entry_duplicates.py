"""Duplicates on entry (issue 13, part 4; docs/rules.md#duplicates-on-entry): the check as you
type on the lead and contact forms, the quick add that never takes an exact duplicate silently,
and the permissions and query counts of the check."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Lead
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_quick_add_of_an_exact_duplicate_is_not_silent(rep_client: Client, rep: Any) -> None:
    """The defect: quick add accepted an exact duplicate of an existing lead without a word."""
    existing = LeadFactory(
        first_name="Anne", last_name="Martin", company_name="ACME", email="anne@acme.example"
    )
    url = reverse("leads:quick_create")
    data = {
        "first_name": "Anne",
        "last_name": "Martin",
        "company_name": "ACME",
        "email": "anne@acme.example",
    }
    response = rep_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert Lead.objects.count() == 1, "the duplicate was saved without a word"
    assert "Save anyway" in page and existing.get_absolute_url() in page


def test_quick_add_saves_an_exact_duplicate_once_confirmed(rep_client: Client, rep: Any) -> None:
    LeadFactory(first_name="Anne", last_name="Martin", company_name="ACME", email="a@acme.example")
    url = reverse("leads:quick_create")
    same_name = {"first_name": "anne", "last_name": "MARTIN", "company_name": " acme "}
    page = rep_client.post(url, same_name, headers=HTMX).content.decode()
    assert "This lead already exists." in page and 'name="confirm_duplicate"' in page
    assert "same name Anne Martin at ACME" in page
    assert Lead.objects.count() == 1
    response = rep_client.post(url, {**same_name, "confirm_duplicate": "on"}, headers=HTMX)
    assert response.status_code == 200 and "closeDialog" in response.headers["HX-Trigger"]
    assert Lead.objects.count() == 2
    # Without JavaScript the same question, on the page.
    page = rep_client.post(url, {"last_name": "X", "email": "A@acme.example "}).content.decode()
    assert "<html" in page and "Save anyway" in page and Lead.objects.count() == 2


def test_quick_add_of_a_mere_namesake_saves(rep_client: Client, rep: Any) -> None:
    """Not an exact duplicate (same name at another company): saved, no question."""
    LeadFactory(first_name="Anne", last_name="Martin", company_name="ACME", email="a@acme.example")
    url = reverse("leads:quick_create")
    data = {"first_name": "Anne", "last_name": "Martin", "company_name": "Globex"}
    response = rep_client.post(url, data, headers=HTMX)
    assert "closeDialog" in response.headers["HX-Trigger"]
    assert Lead.objects.count() == 2


def test_the_forms_watch_their_identifying_fields(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    check = reverse("leads:duplicate_check")
    for url, expected in (
        (reverse("leads:create"), f"{check}?for=lead"),
        (reverse("leads:quick_create"), f"{check}?for=lead"),
        (reverse("leads:edit", args=[lead.pk]), f"{check}?for=lead&amp;exclude={lead.pk}"),
        (reverse("contacts:create"), f"{check}?for=contact"),
        (reverse("contacts:quick_create"), f"{check}?for=contact"),
    ):
        page = rep_client.get(url).content.decode()
        assert 'id="duplicate-findings"' in page and 'aria-live="polite"' in page, url
        assert f'hx-post="{expected}"' in page, url
        assert 'hx-trigger="input changed delay:400ms"' in page
        # Only the identifying fields: not the description, the title or the city.
        watched = re.findall(r'<(?:input|select)[^>]*hx-post="[^"]*"[^>]*name="([^"]+)"', page)
        watched += re.findall(r'<(?:input|select)[^>]*name="([^"]+)"[^>]*hx-post="[^"]*"', page)
        assert "email" in watched and not {"title", "city", "description"} & set(watched), url


def check(client: Client, target: str, data: dict[str, str], exclude: int | None = None) -> str:
    url = reverse("leads:duplicate_check") + f"?for={target}"
    if exclude is not None:
        url += f"&exclude={exclude}"
    response = client.post(url, data, headers=HTMX)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_check_finds_leads_and_contacts_with_reasons_and_links(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    acme = OrganizationFactory(name="ACME", website="https://acme.example", owner=other_rep)
    person = ContactFactory(
        first_name="Anne", last_name="Martin", email="anne@acme.example", organization=acme
    )
    lead = LeadFactory(  # another rep's lead: every signed-in user may see it
        first_name="Anne", last_name="Martin", company_name="ACME", email="anne@acme.example",
        owner=other_rep,
    )  # fmt: skip
    page = check(
        rep_client,
        "lead",
        {
            "first_name": "Anne",
            "last_name": "Martin",
            "company_name": "Acme",
            "email": "x@y.example",
        },
    )
    assert lead.get_absolute_url() in page and person.get_absolute_url() in page
    assert acme.get_absolute_url() in page
    assert "same name Anne Martin at ACME" in page and "same name “ACME”" in page
    assert 'target="_blank"' in page
    page = check(rep_client, "lead", {"email": "ANNE@acme.example", "last_name": "M"})
    assert lead.get_absolute_url() in page and "same email anne@acme.example" in page
    # A person typed in the contact form: the people and the leads, not the organisation.
    page = check(
        rep_client,
        "contact",
        {
            "kind": "person",
            "first_name": "Anne",
            "last_name": "Martin",
            "organization": str(acme.pk),
        },
    )
    assert person.get_absolute_url() in page and lead.get_absolute_url() in page
    assert f'href="{acme.get_absolute_url()}"' not in page
    # An organisation typed: the organisations.
    page = check(rep_client, "contact", {"kind": "organization", "name": "acme"})
    assert acme.get_absolute_url() in page and person.get_absolute_url() not in page
    # Nothing typed, nothing matching: an empty answer (the region hides).
    assert check(rep_client, "lead", {"email": ""}).strip() == ""
    assert check(rep_client, "lead", {"last_name": "Nobody", "company_name": "Else"}).strip() == ""


def test_check_excludes_the_record_edited(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(last_name="Martin", company_name="ACME", email="m@acme.example", owner=rep)
    typed = {"last_name": "Martin", "company_name": "ACME", "email": "m@acme.example"}
    assert lead.get_absolute_url() in check(rep_client, "lead", typed)
    assert lead.get_absolute_url() not in check(rep_client, "lead", typed, exclude=lead.pk)
    org = OrganizationFactory(name="ACME", owner=rep)
    assert org.get_absolute_url() in check(rep_client, "organization", {"name": "ACME"})
    page = check(rep_client, "organization", {"name": "ACME"}, exclude=org.pk)
    assert org.get_absolute_url() not in page


def test_check_refuses_what_it_cannot_answer(rep_client: Client, client: Client) -> None:
    url = reverse("leads:duplicate_check")
    assert rep_client.get(url + "?for=lead").status_code == 405
    assert rep_client.post(url + "?for=deal", {"email": "a@b.example"}).status_code == 400
    page = check(rep_client, "lead", {"email": "x" * 5000, "last_name": "\x00"}, exclude=None)
    assert page.strip() == ""
    # Signed out: the sign-in page, nothing found.
    response = client.post(url + "?for=lead", {"email": "a@b.example"})
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("target", ["lead", "contact"])
def test_check_query_count_does_not_grow_with_the_data(
    rep_client: Client, rep: Any, target: str, django_assert_max_num_queries: Any
) -> None:
    typed = {
        "kind": "person",
        "first_name": "Anne",
        "last_name": "Martin",
        "company_name": "ACME",
        "email": "anne@acme.example",
        "mobile": "06 12 34 56 78",
        "website": "acme.example",
    }
    acme = OrganizationFactory(name="ACME", website="https://acme.example")
    typed["organization"] = str(acme.pk)
    counts = []
    for size in (1, 8):
        for _ in range(size):
            LeadFactory(
                first_name="Anne",
                last_name="Martin",
                company_name="ACME",
                email="anne@acme.example",
            )
            ContactFactory(
                first_name="Anne", last_name="Martin", email="anne@acme.example", organization=acme
            )
            OrganizationFactory(name="ACME", website="https://www.acme.example/x")
        with django_assert_max_num_queries(16) as captured:
            page = check(rep_client, target, typed)
        counts.append(len(captured))
        assert "Anne Martin" in page
    assert counts[0] == counts[1], counts  # the same at both sizes


def test_check_matches_however_it_is_typed(rep_client: Client, rep: Any) -> None:
    """The stored keys: a phone in another format, a name with accents and a legal form."""
    lead = LeadFactory(
        first_name="Zoé", last_name="Durand", company_name="", mobile="06 12 34 56 78"
    )
    page = check(rep_client, "lead", {"last_name": "Other", "phone": "+33 6 12 34 56 78"})
    assert lead.get_absolute_url() in page and "same phone +33612345678" in page
    # A phone match is a warning, not an exact duplicate: the quick add saves it.
    response = rep_client.post(
        reverse("leads:quick_create"),
        {"last_name": "Other", "mobile": "+33612345678"},
        headers=HTMX,
    )
    assert "closeDialog" in response.headers["HX-Trigger"]
    org = OrganizationFactory(name="Société Générale SA", website="")
    company_lead = LeadFactory(first_name="", last_name="", company_name="SOCIETE GENERALE S.A.")
    page = check(rep_client, "contact", {"kind": "organization", "name": "societe generale"})
    assert org.get_absolute_url() in page and company_lead.get_absolute_url() in page


def test_quick_add_identical_by_phone_in_another_format_warns(rep_client: Client, rep: Any) -> None:
    existing = LeadFactory(
        first_name="Anne", last_name="Martin", company_name="ACME", email="anne@acme.example",
        mobile="06 12 34 56 78",
    )  # fmt: skip
    typed = {"first_name": "Anne", "last_name": "Martin", "company_name": "Acme SAS"}
    page = check(rep_client, "lead", {**typed, "mobile": "+33 6 12 34 56 78"})
    assert existing.get_absolute_url() in page
    assert "same phone +33612345678" in page or "same name Anne Martin at ACME" in page
    # Same name at the same company (legal form ignored): an exact duplicate, asked about.
    page = rep_client.post(reverse("leads:quick_create"), typed, headers=HTMX).content.decode()
    assert "Save anyway" in page and Lead.objects.count() == 1


def _cell_inputs(page: str) -> dict[str, str]:
    """The name -> value of the inputs of a cell's small form (as the browser would post them)."""
    return {
        name: value
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
        if name != "csrfmiddlewaretoken"
    }


@pytest.mark.parametrize("cell", ["name", "company"])
def test_inline_cell_edit_checks_for_duplicates_as_you_type(
    rep_client: Client, rep: Any, cell: str
) -> None:
    """The defect: the table's cells edited in place had no check as you type, while the forms
    and the quick add do. The cell's inputs post the cell's form (with the lead's other
    identifying values) to the same check, into a live region of the cell."""
    lead = LeadFactory(
        owner=rep,
        first_name="Zed",
        last_name="Quist",
        company_name="Initech",
        email="zed@i.example",
        phone="",
        mobile="",
        website="",
    )
    other = LeadFactory(first_name="Anne", last_name="Martin", company_name="ACME")
    url = reverse("leads:inline", args=[lead.pk, cell])
    page = rep_client.get(url, headers=HTMX).content.decode()
    check = f"{reverse('leads:duplicate_check')}?for=lead&amp;exclude={lead.pk}"
    region = f"duplicate-findings-{lead.pk}-{cell}"
    assert f'hx-post="{check}"' in page
    assert 'hx-trigger="input changed delay:400ms"' in page
    assert f'hx-target="#{region}"' in page and f'aria-describedby="{region}"' in page
    assert f'id="{region}"' in page and 'aria-live="polite"' in page
    typed = _cell_inputs(page)
    if cell == "name":
        assert typed["company_name"] == "Initech" and typed["email"] == "zed@i.example"
        typed.update(first_name="anne", last_name="MARTIN", company_name="ACME")
        # The same check, but with the lead's company: a namesake elsewhere is no duplicate.
        elsewhere = {**typed, "company_name": "Initech"}
    else:
        assert typed["first_name"] == "Zed" and typed["last_name"] == "Quist"
        typed.update(first_name="Anne", last_name="Martin", company_name="ACME SA")
        elsewhere = {**typed, "company_name": "Globex"}
    found = rep_client.post(
        reverse("leads:duplicate_check") + f"?for=lead&exclude={lead.pk}", typed
    )
    text = found.content.decode()
    assert "Possible duplicate" in text and other.get_absolute_url() in text
    assert "same name Anne Martin at ACME" in text
    nothing = rep_client.post(
        reverse("leads:duplicate_check") + f"?for=lead&exclude={lead.pk}", elsewhere
    )
    assert "Possible duplicate" not in nothing.content.decode()


def test_inline_cell_save_changes_only_its_own_fields(rep_client: Client, rep: Any) -> None:
    """The other identifying values ride along for the check only: saving the cell keeps them."""
    lead = LeadFactory(owner=rep, first_name="Zed", last_name="Q", email="zed@i.example")
    url = reverse("leads:inline", args=[lead.pk, "name"])
    data = {
        "first_name": "Zoe",
        "last_name": "Q",
        "email": "changed@x.example",
        "company_name": "X",
    }
    response = rep_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.first_name, lead.email) == ("Zoe", "zed@i.example")
    assert lead.company_name != "X"
