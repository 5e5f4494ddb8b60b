"""The one custom-field form mixin (``crm.custom_fields``), as the lead, contact and deal forms
use it: a field per definition, values checked by their definition, changes only."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.forms import ContactForm
from deals.forms import DealForm
from leads.forms import LeadForm
from tests.factories import ContactFactory, CustomFieldFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("form_class", "scope", "factory"),
    [(LeadForm, "lead", LeadFactory), (ContactForm, "contact", ContactFactory)],
)
def test_one_mixin_for_every_record_form(form_class: Any, scope: str, factory: Any) -> None:
    CustomFieldFactory(scope=scope, key="budget", label="Budget", field_type="number")
    CustomFieldFactory(scope=scope, key="hot", label="Hot", field_type="checkbox")
    record = factory(custom_fields={"budget": "10", "hot": True, "retired": "kept"})
    form = form_class(instance=record)
    assert form.custom_field_names == ["cf_budget", "cf_hot"]
    assert form["cf_budget"].value() == "10" and form["cf_hot"].value() is True
    assert 'inputmode="decimal"' in str(form["cf_budget"])


def test_changes_only_and_unticked_box_removes() -> None:
    CustomFieldFactory(scope="deal", key="budget", label="Budget", field_type="number")
    CustomFieldFactory(scope="deal", key="hot", label="Hot", field_type="checkbox")
    deal = DealFactory(custom_fields={"budget": "10", "hot": True})
    data = {
        "name": deal.name,
        "value": str(deal.value),
        "currency": deal.currency,
        "stage": deal.stage_id,
        "owner": deal.owner_id,
        "cf_budget": "12,5",
    }
    form = DealForm(data, instance=deal)
    assert form.is_valid(), form.errors
    assert form.custom_field_changes() == {"budget": "12.5", "hot": None}
    assert form.record_data() == {"custom_fields": {"budget": "12.5", "hot": None}}


def test_each_value_checked_by_its_definition() -> None:
    CustomFieldFactory(scope="deal", key="budget", label="Budget", field_type="number")
    deal = DealFactory()
    data = {"name": "X", "value": "1", "currency": "EUR", "stage": deal.stage_id, "cf_budget": "?"}
    form = DealForm(data, instance=deal)
    assert not form.is_valid()
    assert form.errors["cf_budget"] == ["Budget must be a number."]
