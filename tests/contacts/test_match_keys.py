"""Stored matching keys (crm.keystore, ContactKey, LeadKey; docs/rules.md#duplicates): written on
every save that changes them, after the set-based writes, and back-filled by the migrations."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from contacts.models import Contact, ContactKey
from crm.bulk import bulk_update, insert_rows
from crm.keystore import sync_keys
from leads.models import Lead, LeadKey
from tests.factories import ContactFactory, LeadFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def keys(obj: Contact | Lead) -> set[tuple[str, str]]:
    model = ContactKey if isinstance(obj, Contact) else LeadKey
    field = "contact" if isinstance(obj, Contact) else "lead"
    return set(model.objects.filter(**{field: obj}).values_list("kind", "key"))


def test_a_saved_person_has_email_phones_and_name_at_organisation_keys() -> None:
    org = OrganizationFactory(name="Société Générale SA", website="https://www.sg.fr/x")
    person = ContactFactory(
        first_name="Zoé",
        last_name="Martin",
        email=" Zoe@SG.fr ",
        phone="06 12 34 56 78",
        mobile="+33 7 11 22 33 44",
        organization=org,
    )
    assert keys(org) == {("org", "societe generale"), ("domain", "sg.fr")}
    assert keys(person) == {
        ("email", "zoe@sg.fr"),
        ("phone", "+33612345678"),
        ("phone", "+33711223344"),
        ("name", f"zoe martin#{org.pk}"),
    }


def test_editing_a_source_field_rewrites_the_keys_and_other_edits_cost_no_query(
    django_assert_num_queries: Any,
) -> None:
    person = ContactFactory(email="a@example.org", phone="")
    person = Contact.objects.get(pk=person.pk)
    person.phone = "+33 6 12 34 56 78"
    person.save()
    assert ("phone", "+33612345678") in keys(person)
    person.title = "CEO"
    with django_assert_num_queries(1):  # the UPDATE only
        person.save()
    person.email = ""
    person.save(update_fields=["email"])
    assert not any(kind == "email" for kind, _ in keys(person))


def test_a_lead_has_its_keys() -> None:
    lead = LeadFactory(
        first_name="Jean",
        last_name="Dupont",
        company_name="ACME S.A.R.L.",
        email="JEAN@acme.fr",
        phone="01 23 45 67 89",
        mobile="",
        website="acme.fr",
    )
    assert keys(lead) == {
        ("email", "jean@acme.fr"),
        ("phone", "+33123456789"),
        ("name", "jean dupont|acme"),
        ("org", "acme"),
        ("domain", "acme.fr"),
    }


def test_sync_keys_after_set_based_writes() -> None:
    ids = insert_rows(
        Contact,
        [
            {"first_name": "Ann", "last_name": "Lee", "email": "ann@x.org", "phone": "0612345678"},
            {"first_name": "Bob", "last_name": "Ray", "email": "", "phone": ""},
        ],
    )
    assert not ContactKey.objects.filter(contact_id__in=ids).exists()
    sync_keys(Contact, ids)
    ann, bob = Contact.objects.filter(pk__in=ids).order_by("pk")
    assert keys(ann) == {("email", "ann@x.org"), ("phone", "+33612345678")}
    assert keys(bob) == set()
    bob.email = "BOB@x.org"
    bulk_update(Contact, [bob], ["email"])
    sync_keys(Contact, [bob.pk])
    assert keys(bob) == {("email", "bob@x.org")}


def test_deleting_a_record_deletes_its_keys() -> None:
    person = ContactFactory(email="gone@x.org")
    person.delete()
    assert not ContactKey.objects.filter(key="gone@x.org").exists()


@pytest.mark.parametrize(
    ("module", "model", "factory"),
    [
        ("contacts.migrations.0006_match_keys", Contact, ContactFactory),
        ("leads.migrations.0011_match_keys", Lead, LeadFactory),
    ],
)
def test_the_backfill_migration_writes_every_records_keys_in_batches(
    module: str, model: Any, factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm import keystore

    records = factory.create_batch(7, phone="06 12 34 56 78")
    key_model = ContactKey if model is Contact else LeadKey
    expected = set(key_model.objects.values_list(f"{model._meta.model_name}_id", "kind", "key"))
    key_model.objects.all().delete()
    real = keystore.backfill_keys
    monkeypatch.setattr(keystore, "backfill_keys", lambda *a, **k: real(*a, batch=3))
    importlib.import_module(module).backfill(apps, None)
    found = set(key_model.objects.values_list(f"{model._meta.model_name}_id", "kind", "key"))
    assert found == expected
    assert len({r.pk for r in records}) == 7
    assert ("phone", "+33612345678") in {(k, v) for _, k, v in found}
