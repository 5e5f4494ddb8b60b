"""The task form's "About" select searches (docs/rules.md#pickers): its options come from the
records the user may change that match the words typed, a fixed number of queries whatever the
number of records; the form still posts "kind:pk"."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from crm.models import Task
from tests.factories import ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = reverse("tasks:subject_options")


def test_options_match_the_words_among_the_users_records(
    rep_client: Any, rep: Any, other_rep: Any
) -> None:
    mine = LeadFactory(first_name="Margaux", last_name="Fontaine", owner=rep)
    LeadFactory(first_name="Paul", last_name="Fontaine", owner=other_rep)  # not changeable
    LeadFactory(first_name="Zoé", last_name="Martin", owner=rep)
    person = ContactFactory(first_name="Arnaud", last_name="Fontaine", owner=rep)
    deal = DealFactory(name="Fontaine — entrepôt", owner=rep)
    html = rep_client.get(URL, {"q": "fontaine"}).content.decode()
    assert f'value="lead:{mine.pk}"' in html
    assert f'value="contact:{person.pk}"' in html
    assert f'value="deal:{deal.pk}"' in html
    assert "Paul" not in html and "Martin" not in html
    assert '<optgroup label="Leads">' in html
    # Two words narrow it; none of them matching says so.
    html = rep_client.get(URL, {"q": "fontaine marg"}).content.decode()
    assert f'value="lead:{mine.pk}"' in html and f'value="contact:{person.pk}"' not in html
    html = rep_client.get(URL, {"q": "nobody-here"}).content.decode()
    assert "No match" in html


def test_the_chosen_record_stays_chosen(rep_client: Any, rep: Any) -> None:
    chosen = LeadFactory(first_name="Ana", last_name="Silva", owner=rep)
    html = rep_client.get(URL, {"q": "zzz", "subject": f"lead:{chosen.pk}"}).content.decode()
    assert f'<option value="lead:{chosen.pk}" selected>' in html


def test_a_fixed_number_of_queries(
    rep_client: Any, rep: Any, django_assert_max_num_queries: Any
) -> None:
    def load() -> None:
        with django_assert_max_num_queries(8):
            rep_client.get(URL, {"q": "a", "subject": "lead:1"})

    LeadFactory(owner=rep, first_name="Ana")
    load()
    LeadFactory.create_batch(30, owner=rep, first_name="Anaïs")
    ContactFactory.create_batch(10, owner=rep, first_name="Alba")
    load()


def test_a_task_is_still_posted_as_kind_and_pk(rep_client: Any, rep: Any) -> None:
    lead = LeadFactory(owner=rep)
    response = rep_client.post(
        reverse("tasks:new"), {"content": "Call back", "subject": f"lead:{lead.pk}"}
    )
    assert response.status_code == 302
    assert Task.objects.get(content="Call back").object_id == lead.pk


def test_a_search_needs_a_sign_in(client: Any) -> None:
    assert client.get(URL, {"q": "a"}).status_code == 302
