"""The settings shell and the shared layer's settings pages: every section's page in the menu,
reps refused, tags and custom fields, the CrmSettings forms (the repeat-business policy recomputes
the customers), and fixed query counts. The sections of the apps are tested beside them
(tests/deals/test_settings_pages.py, tests/leads/test_settings_pages.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from crm.models import CrmSettings, CustomField, LeadSource, Tag
from deals.models import Stage
from deals.services import deal_move_stage
from leads.models import Lead
from tests.factories import (
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TagFactory,
    stage,
)

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "settings:home",
    "settings:stages",
    "settings:sources",
    "settings:tags",
    "settings:custom_fields",
    "settings:duplicates",
    "settings:conversion",
    "settings:policies",
]


def text(response: Any) -> str:
    return response.content.decode()


def follow(client: Client, url: str, data: dict[str, Any]) -> str:
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain, "expected a redirect after a successful save"
    return text(response)


@pytest.mark.parametrize("name", LIST_PAGES)
def test_pages_render_for_a_manager_with_the_menu(manager_client: Client, name: str) -> None:
    page = text(manager_client.get(reverse(name)))
    for item in LIST_PAGES:
        assert f'href="{reverse(item)}"' in page
    assert 'aria-current="page">' in page


@pytest.mark.parametrize("name", LIST_PAGES)
def test_reps_get_403(rep_client: Client, name: str) -> None:
    response = rep_client.get(reverse(name))
    assert response.status_code == 403
    assert "Only managers" in text(response)


def test_reps_cannot_post_either(rep_client: Client) -> None:
    quote = stage("Quote")
    tag = TagFactory(name="keep")
    posts = [
        (reverse("settings:stages"), {"name": "X", "category": "open", "likelihood": 0}),
        (reverse("settings:stage_edit", args=[quote.pk]), {"name": "Y", "category": "open"}),
        (reverse("settings:stage_delete", args=[quote.pk]), {}),
        (reverse("settings:stage_move", args=[quote.pk]), {"direction": "up"}),
        (reverse("settings:tag_delete", args=[tag.pk]), {}),
        (reverse("settings:conversion"), {"convert_create_deal": ""}),
        (reverse("settings:custom_fields"), {"label": "A", "key": "a", "scope": "lead"}),
    ]
    for url, data in posts:
        assert rep_client.post(url, data).status_code == 403, url
    assert Stage.objects.filter(name="Quote").exists() and Tag.objects.filter(pk=tag.pk).exists()
    assert CrmSettings.load().convert_create_deal is True
    assert not CustomField.objects.exists()


def test_settings_link_in_navigation(manager_client: Client, rep_client: Client) -> None:
    assert f'href="{reverse("settings:home")}"' in text(manager_client.get(reverse("tasks:list")))
    assert f'href="{reverse("settings:home")}"' not in text(rep_client.get(reverse("tasks:list")))


# ---------------------------------------------------------------- tags


def test_tags_per_scope_with_usage_counts(manager_client: Client) -> None:
    vip = TagFactory(name="vip", scope="leads")
    TagFactory(name="partner", scope="deals")
    LeadFactory(tags=[vip])
    LeadFactory(tags=[vip])
    page = text(manager_client.get(reverse("settings:tags"), {"scope": "leads"}))
    assert "vip" in page and "partner" not in page
    row = page.split(">vip</span>")[1].split("</tr>")[0]
    assert '<td class="cell-number">2</td>' in row
    page = text(manager_client.get(reverse("settings:tags"), {"scope": "deals"}))
    assert "partner" in page and ">vip<" not in page


def test_tags_add_rename_delete(manager_client: Client) -> None:
    page = follow(
        manager_client, reverse("settings:tags") + "?scope=deals", {"name": "Hot", "scope": "deals"}
    )
    assert "Tag “Hot” added." in page
    tag = Tag.objects.get(name="Hot", scope="deals")
    response = manager_client.post(reverse("settings:tags"), {"name": "hot", "scope": "deals"})
    assert "This list already has a tag with this name." in text(response)
    follow(
        manager_client,
        reverse("settings:tag_edit", args=[tag.pk]),
        {"name": "Warm", "scope": "deals"},
    )
    tag.refresh_from_db()
    assert tag.name == "Warm"
    page = follow(manager_client, reverse("settings:tag_delete", args=[tag.pk]), {})
    assert "Tag “Warm” deleted." in page and not Tag.objects.filter(pk=tag.pk).exists()


# ---------------------------------------------------------------- custom fields


def test_create_a_choice_custom_field(manager_client: Client) -> None:
    page = follow(
        manager_client,
        reverse("settings:custom_fields"),
        {
            "label": "Budget band",
            "key": "budget_band",
            "scope": "lead",
            "field_type": "choice",
            "choices": "Small\nMedium\n\nLarge\nMedium",
            "copy_on_conversion": "on",
        },
    )
    assert "Custom field “Budget band” added." in page
    field = CustomField.objects.get(key="budget_band")
    assert field.choices == ["Small", "Medium", "Large"] and field.copy_on_conversion


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"key": "Bad Key", "field_type": "text"}, "Use lower-case letters"),
        ({"key": "band", "field_type": "choice", "choices": ""}, "A single-choice field needs"),
        ({"key": "band", "field_type": "text", "choices": "a\nb"}, "Only single-choice fields"),
    ],
)
def test_custom_field_validation_in_place(
    manager_client: Client, data: dict[str, str], error: str
) -> None:
    response = manager_client.post(
        reverse("settings:custom_fields"), {"label": "Band", "scope": "lead", **data}
    )
    assert response.status_code == 200 and error in text(response)
    assert not CustomField.objects.exists()


def test_custom_field_duplicate_key_and_edit(manager_client: Client) -> None:
    field = CustomFieldFactory(key="region_code", scope="lead", label="Region")
    response = manager_client.post(
        reverse("settings:custom_fields"),
        {"label": "Other", "key": "region_code", "scope": "lead", "field_type": "text"},
    )
    assert "already exists" in text(response)
    follow(
        manager_client,
        reverse("settings:custom_field_edit", args=[field.pk]),
        {"label": "Region code", "key": "hacked", "scope": "deal", "field_type": "text"},
    )
    field.refresh_from_db()
    assert field.label == "Region code"
    assert field.key == "region_code" and field.scope == "lead"  # the key cannot change


# ---------------------------------------------------------------- CrmSettings forms


def test_conversion_defaults(manager_client: Client) -> None:
    page = follow(
        manager_client,
        reverse("settings:conversion"),
        {
            "default_currency": "usd",
            "convert_create_task": "on",
            "convert_task_content": "Call {name}",
            "convert_task_due_days": "5",
        },
    )
    assert "Conversion defaults saved." in page
    crm = CrmSettings.load()
    assert crm.convert_create_deal is False and crm.convert_create_task is True
    assert crm.convert_task_content == "Call {name}" and crm.convert_task_due_days == 5
    assert crm.default_currency == "USD"


def test_conversion_defaults_errors(manager_client: Client) -> None:
    response = manager_client.post(
        reverse("settings:conversion"),
        {
            "convert_create_deal": "on",
            "default_currency": "E1",
            "convert_create_task": "on",
            "convert_task_content": " ",
            "convert_task_due_days": "-2",
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert "Use a three-letter currency code" in page
    assert "Say what the task is, or stop creating one." in page or "This field is required" in page
    assert "greater than or equal to 0" in page
    assert CrmSettings.load().default_currency == "EUR"


def test_duplicate_rules_and_policies(manager_client: Client) -> None:
    follow(manager_client, reverse("settings:duplicates"), {"match_person_email": "on"})
    crm = CrmSettings.load()
    assert crm.match_person_email and not crm.match_organization_name
    follow(
        manager_client,
        reverse("settings:policies"),
        {"repeat_business": "on", "undo_grace_hours": "48"},
    )
    crm = CrmSettings.load()
    assert crm.repeat_business and crm.undo_grace_hours == 48
    response = manager_client.post(reverse("settings:policies"), {"undo_grace_hours": "99999"})
    assert "at most one year" in text(response)


def test_turning_repeat_business_on_or_off_recomputes_the_customers(
    manager_client: Client,
) -> None:
    person = ContactFactory()
    for name in ("Won", "Lost"):
        deal = DealFactory(main_contact=person)
        deal_move_stage(actor=deal.owner, deal=deal, stage=stage(name))
    other = ContactFactory()  # not a customer: the policy does not apply
    deal = DealFactory(main_contact=other)
    deal_move_stage(actor=deal.owner, deal=deal, stage=stage("Lost"))

    def statuses() -> list[tuple[str, str]]:
        return [
            (c.prospect_status, c.customer_status)
            for c in Contact.objects.filter(pk__in=[person.pk, other.pk]).order_by("pk")
        ]

    assert statuses() == [("lost", "current"), ("lost", "none")]
    on = {"repeat_business": "on", "undo_grace_hours": "48"}
    page = follow(manager_client, reverse("settings:policies"), on)
    assert statuses() == [("none", "current"), ("lost", "none")]
    assert "1 contact has a new prospect status" in page
    page = follow(manager_client, reverse("settings:policies"), on)  # no change, no recompute
    assert "new prospect status" not in page
    page = follow(manager_client, reverse("settings:policies"), {"undo_grace_hours": "48"})
    assert statuses() == [("lost", "current"), ("lost", "none")]
    assert "1 contact has a new prospect status" in page


# ---------------------------------------------------------------- query counts


def _fill(count: int) -> None:
    pipeline = stage("Incoming").pipeline
    base = Stage.objects.order_by("-position").values_list("position", flat=True)[0]
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=f"Step {base + i}", position=base + 1 + i, category="open")
        for i in range(count)
    )
    start = LeadSource.objects.count()
    LeadSource.objects.bulk_create(LeadSource(name=f"Src {start + i}") for i in range(count))
    start = Tag.objects.count()
    tags = Tag.objects.bulk_create(Tag(name=f"t{start + i}", scope="leads") for i in range(count))
    lead = LeadFactory()
    Lead.tags.through.objects.bulk_create(
        Lead.tags.through(lead_id=lead.pk, tag_id=t.pk) for t in tags
    )
    start = CustomField.objects.count()
    CustomField.objects.bulk_create(
        CustomField(scope="lead", key=f"f{start + i}", label=f"F {i}", field_type="text")
        for i in range(count)
    )


@pytest.mark.parametrize("name", LIST_PAGES)
def test_settings_pages_use_a_fixed_number_of_queries(
    manager_client: Client, name: str, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    url = reverse(name)
    _fill(5)
    manager_client.get(url)
    with django_assert_max_num_queries(10) as small:
        manager_client.get(url)
    _fill(200)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert manager_client.get(url).status_code == 200
