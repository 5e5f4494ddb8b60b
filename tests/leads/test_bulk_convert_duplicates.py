"""The bulk conversion dialog shows the duplicates before converting, and the batch's (or each
lead's) choice reaches the service, the job and the API (docs/rules.md#batch-duplicates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, ContactKey
from crm.bulk import analyze
from crm.jobs.models import Job, JobItem
from crm.keystore import sync_keys
from leads.conversion import preview as preview_module
from leads.models import Lead, LeadConversion, LeadKey
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory
from tests.jobs import drain

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = "leads:bulk_convert"


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _selection(rep: Any, other_rep: Any, n: int) -> list[Lead]:
    """``n`` leads: a third match an existing contact by email, some an organisation by name,
    one pair is the same party, one matches another rep's contact."""
    ContactFactory(owner=other_rep, first_name="Locked", last_name="Owner", email="locked@x.fr")
    OrganizationFactory(owner=rep, name="Acme")
    leads = []
    for i in range(n):
        email = f"p{i}@x.fr"
        if i % 3 == 0:
            ContactFactory(owner=rep, first_name="Same", last_name=f"P{i}", email=email)
        leads.append(
            LeadFactory(
                owner=rep,
                first_name="Lead",
                last_name=f"N{i}",
                email=email,
                company_name="ACME" if i % 5 == 0 else f"Solo {i}",
                website="",
            )
        )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Twin",
            last_name="A",
            email="twin@x.fr",
            company_name="",
            website="",
        )
    )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Twin",
            last_name="A",
            email="TWIN@x.fr",
            company_name="",
            website="",
        )
    )
    leads.append(
        LeadFactory(
            owner=rep,
            first_name="Locked",
            last_name="Owner",
            email="locked@x.fr",
            company_name="",
            website="",
        )
    )
    return leads


def test_dialog_counts_matches_and_reasons_before_converting(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    leads = _selection(rep, other_rep, 9)
    page = html(rep_client.get(reverse(URL), {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    # p0, p3, p6 by email, p0 and p5 by organisation name, and the locked one.
    assert "5 leads match existing contacts" in page
    assert "same email (4)" in page and "same organisation name (2)" in page
    assert "1 of them matches a contact you may not change" in page
    assert "2 leads are the same person as other selected leads" in page
    assert "2 leads name the same organisation as other selected leads" in page
    assert 'value="merge"' in page and 'value="skip"' in page and 'value="create"' in page
    # A small batch: a choice per lead that has a match, as in the single dialog.
    assert page.count('name="bulk-lead_') == 5
    assert "same person as Twin A in this batch" in page
    assert "same organisation as Lead N5 in this batch" in page
    assert not LeadConversion.objects.exists()


def test_no_duplicates_says_so(rep_client: Client, rep: Any) -> None:
    lead = LeadFactory(owner=rep, email="alone@x.fr", company_name="Nobody Inc", website="")
    page = html(rep_client.get(reverse(URL), {"pk": [lead.pk]}, headers=HTMX))
    assert "No selected lead matches an existing contact or another selected lead." in page


@pytest.mark.parametrize("per_lead", [True, False])
def test_preview_query_count_does_not_grow_with_the_selection(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
    per_lead: bool,
) -> None:
    small, large = (6, 40) if per_lead else (60, 240)
    leads = _selection(rep, other_rep, small)
    url = reverse(URL)
    rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX)  # warm caches
    with django_assert_max_num_queries(30) as first:
        html(rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    Lead.objects.all().delete()
    Contact.objects.all().delete()
    leads = _selection(rep, other_rep, large)
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = html(rep_client.get(url, {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    assert ("bulk-lead_" in page) == per_lead


def _big_selection(rep: Any, other_rep: Any, n: int) -> list[int]:
    """``n`` leads (and their keys) made set-based: every third matches a contact by email (one
    of them another rep's), every seventh names the organisation "Acme" ("ACME SA"), two of
    those the name of a person at Acme; and, past the 2,000th, ten pairs of twins (same email)
    and a trio that is one person (two share an email, two a name at "Zeta" / "Zeta SARL")."""
    acme = Contact.objects.create(is_organization=True, name="Acme", owner=rep)
    contacts = [
        Contact(first_name="C", last_name=f"P{i}", email=f"p{i}@x.fr", owner=rep)
        for i in range(0, n, 3)
    ]
    contacts[-1].owner = other_rep  # the last email match: locked for the rep
    contacts += [
        Contact(first_name="Lead", last_name=f"N{i}", organization=acme, owner=rep)
        for i in ((n - 1) // 7 * 7 - 7, (n - 1) // 7 * 7)
    ]
    Contact.objects.bulk_create(contacts)
    sync_keys(Contact, Contact.objects.values_list("pk", flat=True))
    leads = [
        Lead(
            owner=rep,
            first_name="Lead",
            last_name=f"N{i}",
            email=f"p{i}@x.fr",
            company_name="ACME SA" if i % 7 == 0 else f"Solo {i}",
        )
        for i in range(n)
    ]
    leads += [
        Lead(owner=rep, first_name="Twin", last_name=f"T{j}", email=f"twin{j}@y.fr")
        for j in range(10)
        for _copy in range(2)
    ]
    leads += [
        Lead(owner=rep, first_name="Tri", last_name="O", email="tri@y.fr", company_name="Zeta"),
        Lead(owner=rep, first_name="Other", last_name="Name", email="tri@y.fr"),
        Lead(owner=rep, first_name="Tri", last_name="O", company_name="Zeta SARL"),
    ]
    Lead.objects.bulk_create(leads)
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    sync_keys(Lead, ids)
    # As an import does after its bulk load (crm.bulk.analyze): the planner's statistics of the
    # tables just filled, without which PostgreSQL picks nested loops over "empty" tables.
    analyze(Lead, LeadKey, Contact, ContactKey)
    return ids


def _expected(n: int) -> dict[str, int]:
    by_email = set(range(0, n, 3))
    by_org = set(range(0, n, 7))
    return {
        "matching": len(by_email | by_org),
        "email": len(by_email),
        "organization": len(by_org),
        "name": 2,
        "grouped": 23,  # 10 pairs of twins and the trio
        "groups": 11,
        "org_grouped": len(by_org) + 2,  # the ACME SA leads, and Zeta with Zeta SARL
        "org_groups": 2,
    }


@pytest.mark.parametrize("n", [2100, 4300])
def test_counts_are_exact_above_two_thousand_leads(
    rep: Any, other_rep: Any, n: int, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    ids = _big_selection(rep, other_rep, n)
    assert len(ids) > 2000
    # settings, matches, names at organisations, the actor's role, groups: whatever the size
    with django_assert_max_num_queries(5):
        preview = preview_module.batch_preview(actor=rep, lead_ids=ids)
    want = _expected(n)
    assert preview.total == preview.examined == len(ids)
    assert preview.matching == want["matching"]
    assert dict(preview.reasons) == {
        "same email": want["email"],
        "same name at the same organisation": want["name"],
        "same organisation name": want["organization"],
    }
    assert preview.locked == 1
    assert (preview.grouped, preview.groups) == (want["grouped"], want["groups"])
    assert (preview.org_grouped, preview.org_groups) == (want["org_grouped"], want["org_groups"])


def test_all_matching_counts_every_lead_with_a_fixed_query_count(
    rep_client: Client,
    rep: Any,
    other_rep: Any,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    counted = []
    for n in (2100, 4300):
        Lead.objects.all().delete()
        Contact.objects.all().delete()
        _big_selection(rep, other_rep, n)
        with django_assert_max_num_queries(30) as queries:
            page = html(rep_client.get(reverse(URL), {"all": "1"}, headers=HTMX))
        counted.append(len(queries.captured_queries))
        assert f"{_expected(n)['matching']} leads match existing contacts" in page
        assert "23 leads are the same person as other selected leads" in page
        assert "Checked on the first" not in page
    assert counted[0] == counted[1]


def test_batch_choice_skip_leaves_matching_leads(
    rep_client: Client, rep: Any, other_rep: Any
) -> None:
    leads = _selection(rep, other_rep, 9)
    result = html(
        rep_client.post(
            reverse(URL),
            {"pk": [lead.pk for lead in leads], "duplicates": "skip", "create_deal": "on"},
            headers=HTMX,
        )
    )
    assert "<dt>Skipped</dt><dd>5</dd>" in result
    assert "Skipped: it matches" in result
    assert "Not converted" not in result  # the locked match is skipped, not refused
    assert Lead.objects.active().count() == 5
    # The twins: one created, one merged "same batch as".
    assert "merged (same batch as lead Twin A)" in result


def test_per_lead_choice_overrides_the_batch(rep_client: Client, rep: Any) -> None:
    existing = ContactFactory(owner=rep, first_name="Ana", last_name="L", email="ana@x.fr")
    lead = LeadFactory(
        owner=rep, first_name="Ana", last_name="L", email="ana@x.fr", company_name="", website=""
    )
    other = LeadFactory(
        owner=rep, first_name="Bob", last_name="M", email="bob@x.fr", company_name="", website=""
    )
    ContactFactory(owner=rep, first_name="Bob", last_name="M", email="bob@x.fr")
    html(
        rep_client.post(
            reverse(URL),
            {
                "pk": [lead.pk, other.pk],
                "duplicates": "skip",
                f"bulk-lead_{lead.pk}": f"person:{existing.pk}",
            },
            headers=HTMX,
        )
    )
    assert LeadConversion.objects.get(lead=lead).person_id == existing.pk
    assert not LeadConversion.objects.filter(lead=other).exists()
    # A choice naming a contact that is not offered is refused by the form.
    page = html(
        rep_client.post(
            reverse(URL), {"pk": [other.pk], f"bulk-lead_{other.pk}": "person:999"}, headers=HTMX
        )
    )
    assert "Select a valid choice" in page


def test_the_job_path_carries_the_choice(
    rep_client: Client, rep: Any, other_rep: Any, settings: Any
) -> None:
    settings.CRM_CONVERT_JOB_THRESHOLD = 3
    settings.CRM_CONVERT_CHUNK_SIZE = 2
    leads = _selection(rep, other_rep, 6)
    rep_client.post(
        reverse(URL), {"pk": [lead.pk for lead in leads], "duplicates": "skip"}, headers=HTMX
    )
    job = Job.objects.get()
    assert job.params["options"]["duplicates"] == "skip"
    drain()
    # p0, p3, p5 and the locked one; not the second twin, though its twin's chunk made the
    # contact it matches: that is the same batch.
    skipped = JobItem.objects.filter(job=job, outcome="skipped")
    assert sorted(item.label for item in skipped) == [
        "Lead N0",
        "Lead N3",
        "Lead N5",
        "Locked Owner",
    ]
    assert Lead.objects.active().count() == 4
    twins = LeadConversion.objects.filter(lead__first_name="Twin")
    assert len({c.person_id for c in twins}) == 1


def test_api_batch_accepts_duplicates(rep_api: Any, rep: Any) -> None:
    ContactFactory(owner=rep, first_name="Ana", last_name="L", email="ana@x.fr")
    lead = LeadFactory(
        owner=rep, first_name="Ana", last_name="L", email="ana@x.fr", company_name="", website=""
    )
    response = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "skip"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["items"][0]["data"]["status"] == "skipped"
    assert body["meta"]["totals"]["skipped"] == 1
    response = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "create"},
    )
    assert response.json()["items"][0]["data"]["status"] == "converted"
    assert Contact.objects.filter(email="ana@x.fr").count() == 2
    bad = rep_api.post(
        "/api/v2/lead_conversions/batch",
        {"leads": [{"lead_id": lead.pk}], "duplicates": "maybe"},
    )
    assert bad.status_code == 422


def test_one_batch_gives_one_organisation_whatever_its_legal_form(
    rep_client: Client, rep: Any
) -> None:
    """The batch joins leads by their stored keys, as the preview counts them: "Zeta" and
    "Zeta SARL" are one organisation (docs/rules.md#batch-duplicates)."""
    leads = [
        LeadFactory(owner=rep, first_name="A", last_name="One", company_name="Zeta", website=""),
        LeadFactory(
            owner=rep, first_name="B", last_name="Two", company_name="Zeta SARL", website=""
        ),
    ]
    page = html(rep_client.get(reverse(URL), {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    assert "2 leads name the same organisation as other selected leads" in page
    html(rep_client.post(reverse(URL), {"pk": [lead.pk for lead in leads]}, headers=HTMX))
    assert Contact.objects.filter(is_organization=True).count() == 1


@pytest.mark.parametrize(
    "switched_off",
    [
        (),
        ("match_person_phone",),
        ("match_person_name_and_organization",),
        ("match_organization_name",),
        ("match_organization_domain",),
        ("match_person_email", "match_organization_name"),
    ],
)
def test_set_based_counts_agree_with_the_single_dialogs_findings(
    rep: Any, other_rep: Any, switched_off: tuple[str, ...]
) -> None:
    """The counts (one join over the stored keys) say what ``find_duplicates`` says lead by
    lead, whatever rules are on: reasons, the first finding (locked or not), phones written
    either way, a name matched at an organisation found by its domain alone."""
    from crm.models import CrmSettings
    from crm.permissions import can_change
    from leads.duplicates import find_duplicates

    rules = CrmSettings.load()
    for name in switched_off:
        setattr(rules, name, False)
    rules.save()
    acme = OrganizationFactory(owner=other_rep, name="Acme", website="https://acme.fr")
    beta = OrganizationFactory(owner=rep, name="Beta SAS", website="beta.fr")
    ContactFactory(
        owner=other_rep,
        first_name="Ann",
        last_name="Lee",
        organization=acme,
        email="ann@acme.fr",
        phone="06 11 11 11 11",
        mobile="",
    )
    ContactFactory(
        owner=rep,
        first_name="Bob",
        last_name="Ray",
        organization=beta,
        email="",
        phone="",
        mobile="+33 6 22 22 22 22",
    )
    ContactFactory(
        owner=other_rep, first_name="Cy", last_name="Doe", email="", phone="0633333333", mobile=""
    )
    ContactFactory(
        owner=rep, first_name="Di", last_name="Eve", email="", phone="0644444444", mobile=""
    )
    blank = {"email": "", "phone": "", "mobile": "", "website": "", "company_name": ""}
    leads = [
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ANN@acme.fr",
                "company_name": "ACME SA",
            },
        ),
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "bob",
                "last_name": "RAY",
                "website": "https://www.beta.fr/x",
            },
        ),
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "Zed",
                "last_name": "Z",
                "phone": "+33644444444",
                "mobile": "06 33 33 33 33",
            },
        ),
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "",
                "last_name": "",
                "company_name": "Beta",
                "website": "beta.fr",
            },
        ),
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "Ann",
                "last_name": "Lée",
                "email": "ann2@x.fr",
                "company_name": "Acme",
            },
        ),
        LeadFactory(
            owner=rep,
            **{
                **blank,
                "first_name": "Nobody",
                "last_name": "Here",
                "email": "n@x.fr",
                "company_name": "Solo",
            },
        ),
        LeadFactory(
            owner=rep, **{**blank, "first_name": "Twin", "last_name": "Ann", "email": "ann2@x.fr"}
        ),
    ]
    preview = preview_module.BatchPreview(total=len(leads), examined=len(leads))
    preview_module.selection_counts(preview, actor=rep, lead_ids=[lead.pk for lead in leads])

    findings = find_duplicates(leads, CrmSettings.load())
    matching = locked = 0
    counts: dict[str, int] = {}
    for lead in leads:
        found = findings[lead.pk]
        person = found.person if lead.full_name else []
        organization = found.organization if lead.company_name else []
        if not (person or organization):
            continue
        matching += 1
        for kind in {preview_module._rule(f) for f in person + organization}:
            counts[kind] = counts.get(kind, 0) + 1
        locked += not can_change(rep, (person or organization)[0])
    labels = {str(label): kind for kind, label in preview_module.REASONS.items()}
    assert preview.matching == matching > 0
    assert {labels[label]: n for label, n in preview.reasons} == counts
    assert preview.locked == locked
