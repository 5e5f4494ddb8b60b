"""The stored search text of leads and contacts (``search_text``, a generated column: crm.search,
docs/rules.md#search) is exactly the search expression of the row's current columns after every
way a row is written: create, save, bulk_create, QuerySet.update, crm.bulk (COPY on PostgreSQL),
raw SQL, conversion and its undo, merge and its undo, trash and restore. The searches read it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model

from contacts.filters import search_contacts
from contacts.merging import MergeGroup, contact_merge_undo, contacts_merge
from contacts.models import Contact
from contacts.services import contacts_delete
from crm import bulk
from crm.models import TrashEntry
from crm.search import SearchText
from crm.trash import trash_restore
from deals.filters import search_deals
from deals.models import Deal
from leads.bulk import leads_delete
from leads.conversion import lead_conversion_undo
from leads.filters import search_leads
from leads.merging import lead_merge_undo, leads_merge
from leads.models import Lead, LeadConversion
from leads.services import lead_update
from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory
from tests.leads.conversion.helpers import convert

pytestmark = pytest.mark.django_db

LEAD_COLUMNS = ("first_name", "last_name", "company_name", "email", "mobile", "phone")
CONTACT_COLUMNS = ("first_name", "last_name", "name", "email", "mobile", "phone")


def digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def expected(row: Model, columns: tuple[str, ...]) -> str:
    """The search text computed in Python (phones here carry separators only, which both
    PostgreSQL's and SQLite's ``Digits`` remove)."""
    *texts, mobile, phone = (getattr(row, c) for c in columns)
    return " ".join([*texts, digits(mobile), digits(phone)]).lower()


def assert_exact() -> int:
    """Every lead's and contact's stored text is the search expression recomputed now, in SQL
    (the same ``SearchText`` the column is generated from) and in Python. Returns the number of
    rows checked."""
    checked = 0
    for model, columns in ((Lead, LEAD_COLUMNS), (Contact, CONTACT_COLUMNS)):
        text: Any = model._meta.get_field("search_text").expression  # type: ignore[attr-defined]
        rows = model._base_manager.annotate(recomputed=SearchText(*text.source_expressions))
        for row in rows:
            assert row.search_text == row.recomputed, (model, row.pk)
            assert row.search_text == expected(row, columns), (model, row.pk)
            checked += 1
    return checked


def stored(record: Model) -> str:
    return str(type(record)._base_manager.values_list("search_text", flat=True).get(pk=record.pk))


def test_the_generated_column_is_the_search_expression() -> None:
    lead = LeadFactory(
        first_name="Anne",
        last_name="Martin",
        company_name="ACME",
        email="Anne@Example.com",
        mobile="+33 6 12-34.56/78",
        phone="(01) 02",
    )
    assert stored(lead) == "anne martin acme anne@example.com 33612345678 0102"
    person = ContactFactory(first_name="Hugo", last_name="Lee", email="", mobile="", phone="06")
    assert stored(person) == "hugo lee    06"
    assert assert_exact() == 2


def test_save_bulk_create_and_update_keep_it_exact(rep: Any) -> None:
    lead = LeadFactory(owner=rep, first_name="Anne", mobile="06 11")
    lead_update(actor=rep, lead=lead, data={"last_name": "Zola", "phone": "01 22"})
    assert "zola" in stored(lead) and "0122" in stored(lead)
    lead.refresh_from_db()
    lead.first_name = "Berthe"
    lead.save()
    assert stored(lead).startswith("berthe zola")
    Lead.objects.bulk_create([Lead(last_name=f"Bulk{i}", mobile=f"07 0{i}") for i in range(3)])
    Contact.objects.bulk_create([Contact(name="Bulk org", is_organization=True, phone="04 9")])
    Lead.objects.filter(last_name__startswith="Bulk").update(company_name="Updated Co")
    Contact.objects.update(email="x@y.org")
    assert set(Lead.objects.filter(search_text__contains="updated co").values_list("pk")) == set(
        Lead.objects.filter(last_name__startswith="Bulk").values_list("pk")
    )
    assert assert_exact() == 5


def test_crm_bulk_and_raw_sql_keep_it_exact() -> None:
    """crm.bulk writes with COPY on PostgreSQL (an INSERT/UPDATE ... FROM a temporary table):
    the column is left to the database."""
    with transaction.atomic():
        leads = bulk.bulk_insert(
            Lead, [Lead(first_name="Copy", last_name=f"L{i}", phone=f"05 {i}") for i in range(3)]
        )
    for lead in leads:
        lead.email = f"copy{lead.pk}@example.com"
    bulk.bulk_update(Lead, leads, ["email"])
    with transaction.atomic():
        bulk.insert_rows(Contact, [{"first_name": "Row", "last_name": "Inserted", "mobile": "06"}])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET last_name = 'Raw' WHERE first_name = 'Copy'")
        cursor.execute(
            "INSERT INTO contacts_contact (created_at, updated_at, title, email, mobile, phone, "
            "fax, website, industry, description, street, city, postal_code, region, country, "
            "social_x, facebook, skype, linkedin, custom_fields, is_organization, first_name, "
            "last_name, name, prospect_status, customer_status, lifecycle_stage, contact_status, "
            "name_key, domain_key) "
            "SELECT created_at, updated_at, title, email, mobile, phone, fax, website, industry, "
            "description, street, city, postal_code, region, country, social_x, facebook, skype, "
            "linkedin, custom_fields, false, first_name, last_name, company_name, 'none', 'none', "
            "'', 'active', '', '' FROM leads_lead"
        )
    assert Contact.objects.filter(search_text__startswith="copy raw ").count() == 3
    assert assert_exact() == 3 + 1 + 3


def test_conversion_and_its_undo_keep_it_exact(rep: Any) -> None:
    lead = LeadFactory(
        owner=rep, first_name="Conv", last_name="Person", company_name="Conv Org", mobile="06 55"
    )
    result = convert(rep, lead).results[0]
    person = Contact.objects.get(is_organization=False)
    org = Contact.objects.get(is_organization=True)
    assert stored(person).startswith("conv person") and "0655" in stored(person)
    assert "conv org" in stored(org)
    assert assert_exact() == 3
    lead_conversion_undo(actor=rep, conversion=LeadConversion.objects.get(pk=result.conversion_id))
    assert not Contact.objects.exists()
    assert assert_exact() == 1


def test_contact_merge_and_its_undo_keep_it_exact(rep: Any) -> None:
    keep = ContactFactory(owner=rep, first_name="Ann", last_name="Lee", phone="", mobile="06 11")
    other = ContactFactory(owner=rep, first_name="Anne", last_name="Lee", phone="01 02")
    before = {c.pk: c.search_text for c in Contact.objects.all()}
    [result] = contacts_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert "0102" in stored(keep)  # the kept contact's empty phone was filled
    assert assert_exact() == 1
    assert result.merge is not None
    contact_merge_undo(actor=rep, merge=result.merge)
    assert {c.pk: c.search_text for c in Contact.objects.all()} == before
    assert assert_exact() == 2


def test_lead_merge_and_its_undo_keep_it_exact(rep: Any) -> None:
    keep = LeadFactory(owner=rep, first_name="Ann", company_name="", phone="", mobile="")
    other = LeadFactory(owner=rep, first_name="Anne", company_name="Merged Co", phone="03 04")
    before = {lead.pk: lead.search_text for lead in Lead.objects.all()}
    [result] = leads_merge(actor=rep, groups=[MergeGroup(keep.pk, [other.pk])])
    assert "merged co" in stored(keep) and "0304" in stored(keep)
    assert assert_exact() == 1
    assert result.merge is not None
    lead_merge_undo(actor=rep, merge=result.merge)
    assert {lead.pk: lead.search_text for lead in Lead.objects.all()} == before
    assert assert_exact() == 2


def test_trash_and_restore_keep_it_exact(rep: Any, manager: Any) -> None:
    leads = [LeadFactory(owner=rep, mobile=f"06 0{i}") for i in range(2)]
    org = OrganizationFactory(owner=rep, phone="04 44")
    person = ContactFactory(owner=rep, organization=org, mobile="07 77")
    before = {
        "leads": dict(Lead.objects.values_list("pk", "search_text")),
        "contacts": dict(Contact.objects.values_list("pk", "search_text")),
    }
    leads_delete(actor=rep, lead_ids=[lead.pk for lead in leads])
    contacts_delete(actor=rep, contact_ids=[person.pk, org.pk], deals="detach")
    assert not Lead.objects.exists() and not Contact.objects.exists()
    # The snapshots leave the generated column out: the database computes it on restore.
    for entry in TrashEntry.objects.all():
        assert all("search_text" not in row["fields"] for row in entry.snapshot["rows"])
    outcome = trash_restore(
        actor=manager, entry_ids=TrashEntry.objects.values_list("pk", flat=True)
    )
    assert not outcome.reasons, outcome.reasons
    assert {
        "leads": dict(Lead.objects.values_list("pk", "search_text")),
        "contacts": dict(Contact.objects.values_list("pk", "search_text")),
    } == before
    assert assert_exact() == 4


def test_the_searches_read_the_column(rep: Any) -> None:
    anne = LeadFactory(
        owner=rep,
        first_name="Anne",
        last_name="Martin",
        company_name="ACME",
        email="anne@acme.example",
        mobile="+33 6 12 34",
    )
    LeadFactory(
        owner=rep,
        first_name="Paul",
        last_name="Durand",
        company_name="Durand SARL",
        email="paul@durand.example",
        mobile="",
    )
    org = OrganizationFactory(owner=rep, name="Martin SA")
    person = ContactFactory(
        owner=rep, first_name="Zoe", last_name="Roy", email="zoe@roy.example", organization=org
    )
    deal = DealFactory(owner=rep, main_contact=person, name="Big one")
    for query in ("martin", "anne martin", "6 12 34", "+33 6 12"):
        assert list(search_leads(Lead.objects.all(), "q", query)) == [anne], query
    assert set(search_contacts(Contact.objects.all(), "q", "martin")) == {org, person}
    assert list(search_deals(Deal.objects.all(), "q", "zoe")) == [deal]
    sql = str(search_leads(Lead.objects.all(), "q", "martin").query)
    assert '"leads_lead"."search_text"' in sql and "LOWER(" not in sql, sql


def indexdefs() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('lead_search_trgm_idx', 'contact_search_trgm_idx', 'contact_org_search_trgm_idx')"
        )
        return dict(cursor.fetchall())


def triggers() -> list[tuple[str, str]]:
    """The triggers of the leads' and contacts' tables (a table rebuilt by SQLite loses them),
    but those of later migrations (leads/0018's kept counts), which going back to 0016 drops."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid IN ('leads_lead'::regclass, 'contacts_contact'::regclass)"
            )
        else:
            cursor.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('leads_lead', 'contacts_contact')"
            )
        return sorted(row for row in cursor.fetchall() if not row[1].startswith("lead_unqualified"))


def columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migrations_fill_existing_rows_and_reverse() -> None:
    """leads/0017 and contacts/0012 back and forth: backwards the column goes and the expression
    indexes come back (PostgreSQL); forwards the rows already there get their text computed. The
    tables keep their triggers (the converted-lead ones) both ways."""
    kept = triggers()
    assert ("leads_lead", "leads_lead_converted_read_only") in kept
    LeadFactory(first_name="Old", last_name="Row", mobile="06 01")
    ContactFactory(first_name="Old", last_name="Contact", phone="01 06")
    executor = MigrationExecutor(connection)
    executor.migrate(
        [("leads", "0016_list_sort_indexes"), ("contacts", "0011_org_search_trigram_index")]
    )
    assert "search_text" not in columns("leads_lead")
    assert "search_text" not in columns("contacts_contact")
    assert triggers() == kept
    if connection.vendor == "postgresql":
        defs = indexdefs()
        assert len(defs) == 3 and all("regexp_replace" in d for d in defs.values()), defs
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert stored(Lead.objects.get()).startswith("old row ")
    assert assert_exact() == 2
    assert triggers() == kept
    if connection.vendor == "postgresql":
        defs = indexdefs()
        assert len(defs) == 3, defs
        assert all("gin (search_text gin_trgm_ops)" in d for d in defs.values()), defs
        assert "WHERE is_organization" in defs["contact_org_search_trgm_idx"]
