"""``lead_create`` and ``lead_update``: the one write path of a lead (pages, admin, API, commands).
HackSoftware's Django-Styleguide services: keyword-only, the actor a ``User``, one transaction;
an update saves only the fields it changed, on a row it locked and re-checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from leads import views
from leads.conversion import ConversionOptions, leads_convert
from leads.models import Lead, LeadConversion, LeadStatus
from leads.services import LeadReadOnly, lead_create, lead_update
from tests.factories import CustomFieldFactory, LeadFactory, TagFactory
from tests.leads.locking import behind_a_conversion, real_concurrency


@real_concurrency
def test_inline_edit_waiting_on_a_conversion_does_not_reverse_it(rep: Any) -> None:
    """Issue 11, item 0: an inline edit of a lead that waits on the row lock of a conversion
    of that lead must not write back its stale copy once the conversion commits (the lead
    would be active again while its conversion, person and deal remain)."""
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin", company_name="")
    client = Client()
    client.force_login(rep)
    answers = behind_a_conversion(
        rep,
        lead,
        lambda: client.post(
            reverse("leads:inline", args=[lead.pk, "name"]),
            {"first_name": "Annie", "last_name": "Martin"},
            headers={"HX-Request": "true"},
        ),
    )
    assert answers["conversion"] == "converted"
    lead.refresh_from_db()
    assert lead.converted_at is not None and lead.status == LeadStatus.CONVERTED
    assert lead.first_name == "Anne"  # the stale edit wrote nothing
    assert LeadConversion.objects.filter(lead=lead, undone_at__isnull=True).count() == 1
    response = answers["job"]
    assert response.status_code == 403
    assert "A converted lead is read-only." in response.content.decode()


# ---- lead_create ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_create_writes_fields_tags_and_custom_fields(rep: Any) -> None:
    tag = TagFactory(name="hot", scope="leads")
    lead = lead_create(
        actor=rep,
        data={
            "first_name": "Anne",
            "last_name": "Martin",
            "owner": rep,
            "tags": [tag],
            "custom_fields": {"budget": "10", "gone": None},
        },
    )
    lead.refresh_from_db()
    assert (lead.full_name, lead.owner, lead.status) == ("Anne Martin", rep, LeadStatus.NEW)
    assert list(lead.tags.all()) == [tag]
    assert lead.custom_fields == {"budget": "10"}


@pytest.mark.django_db
def test_lead_create_refuses_the_converted_status(rep: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        lead_create(actor=rep, data={"last_name": "X", "status": LeadStatus.CONVERTED})
    assert "status" in exc.value.message_dict
    assert not Lead.objects.exists()


# ---- lead_update ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_update_saves_only_what_changed(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne", email="anne@example.com")
    # Another user changes the email after this copy of the lead was read.
    Lead.objects.filter(pk=lead.pk).update(email="new@example.com")
    saved = lead_update(actor=rep, lead=lead, data={"first_name": "Annie"})
    lead.refresh_from_db()
    assert (lead.first_name, lead.email) == ("Annie", "new@example.com")
    assert saved.email == "new@example.com"


@pytest.mark.django_db
def test_lead_update_without_a_change_writes_nothing(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne")
    before = Lead.objects.get(pk=lead.pk).updated_at
    lead_update(actor=rep, lead=lead, data={"first_name": "Anne", "tags": []})
    assert Lead.objects.get(pk=lead.pk).updated_at == before


@pytest.mark.django_db
def test_lead_update_merges_custom_fields_and_sets_tags(rep: Any) -> None:
    old, new = TagFactory(name="a", scope="leads"), TagFactory(name="b", scope="leads")
    lead = LeadFactory(owner=rep, custom_fields={"size": "M", "budget": "10"}, tags=[old])
    lead_update(
        actor=rep, lead=lead, data={"custom_fields": {"size": None, "hot": True}, "tags": [new]}
    )
    lead.refresh_from_db()
    assert lead.custom_fields == {"budget": "10", "hot": True}
    assert list(lead.tags.all()) == [new]


@pytest.mark.django_db
def test_lead_update_refuses_a_converted_lead_with_the_reason(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    leads_convert(actor=rep, lead_ids=[lead.pk], options=ConversionOptions())
    with pytest.raises(LeadReadOnly, match="A converted lead is read-only"):
        lead_update(actor=rep, lead=lead, data={"first_name": "Late"})  # a stale copy
    lead.refresh_from_db()
    assert lead.is_converted and lead.first_name != "Late"


@pytest.mark.django_db
def test_lead_update_follows_who_may_change_what(rep: Any, other_rep: Any, manager: Any) -> None:
    lead = LeadFactory(owner=other_rep, first_name="Anne")
    with pytest.raises(PermissionDenied):
        lead_update(actor=rep, lead=lead, data={"first_name": "Mine"})
    lead_update(actor=manager, lead=lead, data={"first_name": "Managed"})
    unowned = LeadFactory(owner=None)
    lead_update(actor=rep, lead=unowned, data={"owner": rep})
    assert Lead.objects.get(pk=lead.pk).first_name == "Managed"
    assert Lead.objects.get(pk=unowned.pk).owner == rep


@pytest.mark.django_db
def test_lead_update_refuses_the_converted_status(rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError):
        lead_update(actor=rep, lead=lead, data={"status": LeadStatus.CONVERTED})


# ---- the callers: pages and admin ------------------------------------------------------------


@pytest.mark.django_db
def test_edit_page_saves_only_the_fields_the_user_changed(
    rep_client: Client, rep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne", last_name="Martin", phone="")
    page = rep_client.get(reverse("leads:edit", args=[lead.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if name != "tags"}
    data["title"] = "Buyer"
    written: list[dict[str, Any]] = []
    real_update = views.lead_update

    def spy(**kwargs: Any) -> Lead:
        written.append(dict(kwargs["data"]))
        return real_update(**kwargs)

    monkeypatch.setattr(views, "lead_update", spy)
    response = rep_client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 302
    assert written == [{"title": "Buyer"}]  # the form hands the service what changed
    lead.refresh_from_db()
    assert (lead.title, lead.first_name) == ("Buyer", "Anne")


@pytest.mark.django_db
def test_quick_create_is_owned_by_the_rep(rep_client: Client, rep: Any) -> None:
    response = rep_client.post(reverse("leads:quick_create"), {"last_name": "Quick"})
    assert response.status_code == 302
    assert Lead.objects.get(last_name="Quick").owner == rep


@pytest.mark.django_db
def test_admin_writes_through_the_services(manager: Any) -> None:
    from tests.crm.test_admin import change_url, scrape

    client = Client()
    client.force_login(manager)
    lead = LeadFactory(owner=manager, custom_fields={"budget": "10"})
    CustomFieldFactory(scope="lead", key="budget", label="Budget", field_type="number")
    CustomFieldFactory(scope="lead", key="size", label="Size", field_type="text")
    page = scrape(client, change_url(lead), "lead_form")
    data = {**page.data, "title": ["Chief"], "custom_fields": ['{"size": "M"}']}
    assert client.post(change_url(lead), data).status_code == 302
    lead.refresh_from_db()
    assert lead.title == "Chief"
    assert lead.custom_fields == {"size": "M"}  # the JSON edited whole: budget removed


@pytest.mark.django_db
def test_admin_refuses_a_lead_converted_since_the_page_was_loaded(manager: Any) -> None:
    from leads.admin import LeadAdmin

    lead = LeadFactory(owner=manager)
    stale = Lead.objects.get(pk=lead.pk)
    leads_convert(actor=manager, lead_ids=[lead.pk], options=ConversionOptions())
    with pytest.raises(PermissionDenied, match="read-only"):
        LeadAdmin(Lead, admin.site).record_update(manager, stale, {"title": "Late"})
