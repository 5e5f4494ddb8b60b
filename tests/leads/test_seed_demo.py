"""``manage.py seed_demo``: users, idempotence, realistic and consistent data, set-based speed."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, CustomerStatus, Employment, ProspectStatus
from crm.bulk import insert_rows
from crm.matching import person_name_key
from crm.models import (
    MANAGER_GROUP,
    REP_GROUP,
    CrmSettings,
    CustomField,
    Document,
    Note,
    Scope,
    Tag,
    Task,
    User,
)
from deals.models import Deal, DealContact, Stage, StageCategory
from leads.demo import DEMO_TAG
from leads.models import Lead

pytestmark = pytest.mark.django_db

SMALL = 40


@pytest.fixture(autouse=True)
def _demo_settings(settings: Any) -> None:
    settings.DEBUG = True  # the command refuses to run on a production configuration
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def project_counts() -> dict[str, int]:
    """Row count of every model of the project (and of users and groups)."""
    models = [
        m
        for label in ("crm", "contacts", "deals", "leads", "auth")
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    return {m._meta.label: m._default_manager.count() for m in models}


def expected_statuses(repeat_business: bool) -> dict[int, tuple[str, str]]:
    """The prospect and customer statuses (docs/rules.md#statuses), recomputed independently
    from the stored deals."""
    deals: dict[int, list[tuple[str, datetime.datetime | None, int]]] = {}
    rows = DealContact.objects.values_list(
        "contact_id", "deal__stage__category", "deal__closed_at", "deal_id"
    )
    for contact_id, category, closed_at, deal_id in rows:
        deals.setdefault(contact_id, []).append((category, closed_at, deal_id))
    expected: dict[int, tuple[str, str]] = {}
    for contact_id in Contact.objects.values_list("pk", flat=True):
        linked = deals.get(contact_id, [])
        categories = {category for category, _, _ in linked}
        closed = sorted((c, d, cat) for cat, c, d in linked if cat != StageCategory.OPEN and c)
        latest = closed[-1][2] if closed else None
        won = StageCategory.WON in categories
        if StageCategory.OPEN in categories:
            prospect = ProspectStatus.CURRENT
        elif won and repeat_business:
            prospect = ProspectStatus.NONE
        elif latest in (StageCategory.LOST, StageCategory.UNQUALIFIED):
            prospect = ProspectStatus.LOST
        else:
            prospect = ProspectStatus.NONE
        expected[contact_id] = (prospect, CustomerStatus.CURRENT if won else CustomerStatus.NONE)
    return expected


def test_creates_the_three_users_with_password_demo() -> None:
    output = seed(leads=SMALL)

    manager = User.objects.get(username="manager")
    assert manager.is_staff and not manager.is_superuser
    assert list(manager.groups.values_list("name", flat=True)) == [MANAGER_GROUP]
    assert manager.is_manager
    for username in ("alice", "bob"):
        rep = User.objects.get(username=username)
        assert not rep.is_staff and not rep.is_superuser
        assert list(rep.groups.values_list("name", flat=True)) == [REP_GROUP]
        assert not rep.is_manager
    for user in User.objects.filter(username__in=["manager", "alice", "bob"]):
        assert user.first_name and user.last_name
        assert user.check_password("demo")
        assert Client().login(username=user.username, password="demo")
    assert "sign in as manager / alice / bob, password demo" in output


def test_existing_users_are_brought_back_to_the_demo_state() -> None:
    bob = User.objects.create_user("bob", password="secret", is_superuser=True)
    bob.groups.add(Group.objects.get(name=MANAGER_GROUP))

    seed(leads=0)

    bob.refresh_from_db()
    assert bob.check_password("demo") and not bob.is_superuser
    assert list(bob.groups.values_list("name", flat=True)) == [REP_GROUP]
    assert User.objects.filter(username="bob").count() == 1


def test_second_run_creates_nothing() -> None:
    seed(leads=SMALL)
    before = project_counts()
    users = dict(User.objects.values_list("username", "pk"))

    output = seed(leads=SMALL)

    assert project_counts() == before
    assert dict(User.objects.values_list("username", "pk")) == users
    assert "none added" in output


def test_more_leads_tops_up_to_the_same_leads_as_one_run() -> None:
    def identities() -> list[tuple[str, ...]]:
        return list(
            Lead.objects.order_by("pk").values_list(
                "first_name", "last_name", "company_name", "email", "phone", "status"
            )
        )

    with transaction.atomic():
        seed(leads=50)
        at_once = identities()
        transaction.set_rollback(True)

    seed(leads=30)
    contacts, deals = Contact.objects.count(), Deal.objects.count()
    seed(leads=50)

    assert identities() == at_once
    assert Lead.objects.filter(tags__name=DEMO_TAG).count() == 50
    assert (Contact.objects.count(), Deal.objects.count()) == (contacts, deals)
    seed(leads=20)  # fewer than present: nothing removed, nothing added
    assert Lead.objects.count() == 50


def test_deals_in_every_stage_with_contacts_and_closing_data() -> None:
    seed(leads=SMALL)

    for stage in Stage.objects.all():
        assert Deal.objects.filter(stage=stage).exists(), stage.name
    for deal in Deal.objects.select_related("stage", "main_contact", "organization"):
        closed = deal.stage.category != StageCategory.OPEN
        assert (deal.closed_at is not None) == closed
        assert (deal.loss_reason_id is not None) == (deal.stage.category == StageCategory.LOST)
        assert deal.currency in {"EUR", "USD", "GBP"}
        assert deal.value > 0
        assert deal.main_contact is not None
        linked = set(deal.contact_links.values_list("contact_id", flat=True))
        assert deal.main_contact_id in linked
        if deal.organization is not None:
            assert deal.organization.is_organization and deal.organization_id in linked


def test_statuses_follow_the_deals_as_spec_says() -> None:
    seed(leads=SMALL)

    expected = expected_statuses(CrmSettings.load().repeat_business)
    stored = {
        pk: (prospect, customer)
        for pk, prospect, customer in Contact.objects.values_list(
            "pk", "prospect_status", "customer_status"
        )
    }
    assert stored == expected
    seen = set(stored.values())
    assert (ProspectStatus.CURRENT, CustomerStatus.NONE) in seen
    assert any(p == ProspectStatus.LOST for p, _ in seen)
    assert any(c == CustomerStatus.CURRENT for _, c in seen)
    assert (ProspectStatus.NONE, CustomerStatus.NONE) in seen


def test_statuses_follow_the_repeat_business_policy() -> None:
    settings_row = CrmSettings.load()
    settings_row.repeat_business = True
    settings_row.save()

    seed(leads=SMALL)

    rows = Contact.objects.values_list("pk", "prospect_status", "customer_status")
    stored = {pk: (prospect, customer) for pk, prospect, customer in rows}
    assert stored == expected_statuses(repeat_business=True)


def test_documents_are_real_files_on_records_of_every_kind() -> None:
    seed(leads=SMALL)

    documents = list(Document.objects.select_related("content_type"))
    assert {d.content_type.model for d in documents} == {"lead", "contact", "deal"}
    for document in documents:
        assert default_storage.exists(document.file.name)
        with document.file.open("rb") as handle:
            assert len(handle.read()) == document.size > 0
        assert document.subject is not None


def test_realistic_data() -> None:
    seed(leads=SMALL)

    assert Lead.objects.filter(first_name="Hélène", last_name="Lefèvre").exists()
    assert Lead.objects.filter(first_name="Zoë").exists()
    assert Contact.objects.filter(name="Société Générale de Logistique").exists()
    assert Contact.objects.filter(name="Boulangerie Dupont SARL").exists()
    assert set(Lead.objects.values_list("country", flat=True)) == {
        "France",
        "United Kingdom",
        "United States",
    }
    assert Lead.objects.exclude(status="new").exists() and Lead.objects.filter(status="new")
    assert Lead.objects.filter(source__isnull=False).exists()
    owners = set(Lead.objects.values_list("owner__username", flat=True))
    assert {"alice", "bob", "manager", None} <= owners
    for scope in Scope.values:
        assert Tag.objects.filter(scope=scope, name=DEMO_TAG).exists()
        assert Tag.objects.filter(scope=scope).exclude(name=DEMO_TAG).exists()
    keys = {
        scope: set(CustomField.objects.filter(scope=scope).values_list("key", flat=True))
        for scope in ("lead", "contact", "deal")
    }
    assert {"budget", "segment"} <= keys["lead"] & keys["contact"] & keys["deal"]
    assert Lead.objects.exclude(custom_fields={}).exists()
    assert Deal.objects.exclude(custom_fields={}).exists()
    for model in (Lead, Contact, Deal):
        assert Note.objects.filter(content_type__model=model._meta.model_name).exists()
    employee = Contact.objects.filter(organization__isnull=False, reports_to__isnull=False)
    assert employee.exists()
    assert Employment.objects.filter(ended_on__isnull=False).exists()
    for contact in Contact.objects.all():
        assert contact.name_key and contact.name_key == person_name_key(contact.display_name)


def test_tasks_cover_done_overdue_today_and_upcoming() -> None:
    seed(leads=200)

    now = timezone.now()
    today = timezone.localdate()
    open_tasks = Task.objects.filter(done=False)
    assert Task.objects.filter(done=True, completed_at__isnull=False).exists()
    assert open_tasks.filter(due_at__lt=now - datetime.timedelta(days=1)).exists()
    assert any(timezone.localdate(t.due_at) == today for t in open_tasks)
    assert open_tasks.filter(due_at__gt=now + datetime.timedelta(days=1)).exists()


def test_ids_keep_working_after_the_seed() -> None:
    seed(leads=SMALL)

    lead = Lead.objects.create(last_name="After")
    contact = Contact.objects.create(first_name="Ada", last_name="After")
    assert lead.pk > max(Lead.objects.exclude(pk=lead.pk).values_list("pk", flat=True))
    assert contact.pk > max(Contact.objects.exclude(pk=contact.pk).values_list("pk", flat=True))
    ids = insert_rows(Note, [{"content": "x", "content_type_id": 1, "object_id": 1}])
    note = Note.objects.get(pk=ids[0])
    assert note.created_at is not None and note.updated_at is not None


def test_query_count_does_not_grow_with_leads() -> None:
    def queries(leads: int) -> int:
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            seed(leads=leads)
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    small, large = queries(20), queries(1000)

    assert Lead.objects.count() == 0
    assert abs(large - small) <= 5, (small, large)


def test_refuses_to_run_on_a_production_configuration(settings: Any) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        seed(leads=SMALL)
    assert not User.objects.filter(username="manager").exists()

    seed(leads=0, allow_production=True)
    assert User.objects.filter(username="manager").exists()


def test_rejects_a_negative_number_of_leads() -> None:
    with pytest.raises(CommandError):
        seed(leads=-1)
