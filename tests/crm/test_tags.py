"""crm.tags: one lookup of tags by name, with the database's case rule for accented names too."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.forms import TagForm
from crm.models import Scope, Tag
from crm.tags import scoped_tags_by_name, tag_key, tags_by_name

pytestmark = pytest.mark.django_db


def test_names_fold_as_the_unique_constraint_does_also_for_accents() -> None:
    education = Tag.objects.create(name="Éducation", scope=Scope.LEADS)
    vip = Tag.objects.create(name="VIP", scope=Scope.LEADS)
    found = tags_by_name(
        scope=Scope.LEADS, names=["éducation", "ÉDUCATION", "vip", "Vip"], create=True
    )
    assert found == {"éducation": education.pk, "vip": vip.pk}
    assert Tag.objects.count() == 2


def test_missing_tags_are_created_as_first_spelt_only_when_asked() -> None:
    assert tags_by_name(scope=Scope.LEADS, names=["Salon", "salon"], create=False) == {}
    assert not Tag.objects.exists()
    found = tags_by_name(scope=Scope.LEADS, names=["Salon", "salon"], create=True)
    (tag,) = Tag.objects.all()
    assert (tag.name, found) == ("Salon", {tag_key("Salon"): tag.pk})


def test_scopes_are_apart_and_read_in_one_query_when_nothing_is_missing() -> None:
    lead = Tag.objects.create(name="à rappeler", scope=Scope.LEADS)
    deal = Tag.objects.create(name="À rappeler", scope=Scope.DEALS)
    with CaptureQueriesContext(connection) as queries:
        found = scoped_tags_by_name(
            names=[(Scope.LEADS, "À RAPPELER"), (Scope.DEALS, "à rappeler")], create=True
        )
    assert found == {(Scope.LEADS, "à rappeler"): lead.pk, (Scope.DEALS, "à rappeler"): deal.pk}
    assert len(queries) == 1


def test_no_names_no_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert tags_by_name(scope=Scope.LEADS, names=[], create=True) == {}
    assert not queries


@pytest.mark.parametrize("typed", ["éducation", "ÉDUCATION", " Éducation "])
def test_tag_form_refuses_a_name_that_folds_like_an_existing_tag(typed: str) -> None:
    """The settings' tag form uses the same rule as every other path: on SQLite too, where
    ``iexact`` folds ASCII letters only, "éducation" is the existing "Éducation"."""
    Tag.objects.create(name="Éducation", scope=Scope.LEADS)
    form = TagForm({"name": typed, "scope": Scope.LEADS})
    assert not form.is_valid()
    assert form.errors["name"] == ["This list already has a tag with this name."]


def test_tag_form_lets_a_tag_keep_its_own_name() -> None:
    tag = Tag.objects.create(name="Éducation", scope=Scope.LEADS)
    Tag.objects.create(name="Éducation", scope=Scope.CONTACTS)
    form = TagForm({"name": "ÉDUCATION", "scope": Scope.LEADS}, instance=tag)
    assert form.is_valid(), form.errors
