"""crm.matching: the keys that make two spellings of one party equal (docs/rules.md#duplicates)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from crm.matching import (
    batch_memo,
    domain_key,
    email_key,
    organization_name_key,
    person_name_key,
    phone_key,
)


def test_email_key_trims_and_casefolds() -> None:
    assert email_key("  Ann@Example.COM ") == "ann@example.com"
    assert email_key("") == email_key(None) == ""


@pytest.mark.parametrize(
    "value",
    ["06 12 34 56 78", "+33 6 12 34 56 78", "0612345678", "06.12.34.56.78", "(0)6-12-34-56-78",
     "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78"],
)  # fmt: skip
def test_phone_key_national_and_international_forms_agree(value: str) -> None:
    assert phone_key(value) == "+33612345678"


@pytest.mark.parametrize("value", ["", "   ", "abc", "12", "call me", "+1"])
def test_phone_key_is_empty_when_not_a_possible_number(value: str) -> None:
    assert phone_key(value) == ""


def test_phone_key_region_argument_and_setting() -> None:
    assert phone_key("(212) 555-0100", "US") == "+12125550100"
    assert phone_key("+44 20 7946 0958", "US") == "+442079460958"  # international wins
    with override_settings(CRM_PHONE_REGION="DE"):
        assert phone_key("030 1234567") == "+49301234567"
    assert phone_key("030 1234567") != "+49301234567"


def test_person_name_key_folds_case_accents_punctuation_spaces() -> None:
    assert person_name_key("  Zoé  O'Brien-Duval ") == "zoe o brien duval"
    assert person_name_key("ZOE O BRIEN DUVAL") == "zoe o brien duval"
    assert person_name_key("Straße") == "strasse"
    assert person_name_key(None) == ""
    assert person_name_key(" : ") == ":"  # punctuation only: never folded to empty


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Société Générale SA", "Societe Generale"),
        ("Société Générale S.A.", "SOCIETE GENERALE"),
        ("Acme, Inc.", "acme"),
        ("ACME Incorporated", "Acme"),
        ("Müller GmbH & Co. KG", "Muller"),
        ("Dupont S.à r.l.", "dupont"),
        ("Dupont SARL", "dupont"),
        ("SARL Dupont", "Dupont"),
        ("Widgets Ltd", "Widgets Limited"),
        ("Nokia Oyj", "Nokia"),
        ("Volvo AB", "Volvo"),
        ("Philips N.V.", "Philips"),
        ("Fiat S.p.A.", "Fiat"),
    ],
)
def test_organization_name_key_ignores_legal_forms(left: str, right: str) -> None:
    assert organization_name_key(left) == organization_name_key(right)
    assert organization_name_key(left)


def test_organization_name_key_keeps_words_that_are_not_legal_forms() -> None:
    assert organization_name_key("Sanofi") == "sanofi"
    assert organization_name_key("Incorporated Widgets Group") == "widgets group"
    assert organization_name_key("Ascot Cars") == "ascot cars"  # "as" only as a whole word


@pytest.mark.parametrize("value", ["SA", "S.A.", "Inc.", "GmbH & Co. KG", "Ltd"])
def test_organization_name_key_never_folds_a_name_to_empty(value: str) -> None:
    assert organization_name_key(value) != ""


def test_domain_key_keeps_website_domain_behaviour() -> None:
    assert domain_key("https://www.Acme.fr:8080/contact?x=1") == "acme.fr"
    assert domain_key("acme.fr") == domain_key("http://acme.fr/") == "acme.fr"
    assert domain_key("localhost") == ""
    assert domain_key("") == ""


@given(st.text())
def test_keys_are_idempotent(value: str) -> None:
    assert person_name_key(person_name_key(value)) == person_name_key(value)
    assert email_key(email_key(value)) == email_key(value)
    key = organization_name_key(value)
    assert organization_name_key(key) in {key, person_name_key(key)}


@given(st.text())
def test_organization_key_empty_only_for_empty_folded_name(value: str) -> None:
    assert (organization_name_key(value) == "") == (person_name_key(value) == "")


@given(st.text(min_size=1), st.sampled_from(["upper", "lower", "title"]), st.text(" \t"))
def test_person_name_key_ignores_case_and_surrounding_space(
    value: str, case: str, pad: str
) -> None:
    variant = pad + getattr(value, case)() + pad
    assert person_name_key(variant) == person_name_key(getattr(value, case)())


@given(st.integers(min_value=600000000, max_value=799999999))
def test_phone_key_french_mobiles_national_equals_international(number: int) -> None:
    national = f"0{number}"
    assert phone_key(national) == phone_key(f"+33 {number}") == f"+33{number}"


@given(st.text())
def test_a_visible_value_never_folds_to_empty(value: str) -> None:
    visible = bool("".join(value.split()))
    assert bool(person_name_key(value)) == visible
    assert bool(organization_name_key(value)) == visible


# ---- batch_memo: each distinct value computed once within a batch ------------------------------


@given(st.lists(st.text(max_size=30), max_size=8))
def test_batch_memo_gives_the_same_keys(values: list[str]) -> None:
    plain = [(person_name_key(v), organization_name_key(v), phone_key(v)) for v in values]
    with batch_memo():
        twice = [
            [(person_name_key(v), organization_name_key(v), phone_key(v)) for v in values]
            for _ in range(2)
        ]
    assert twice == [plain, plain]


def test_batch_memo_parses_each_value_once_and_keeps_nothing_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import phonenumbers

    from crm import matching

    parsed: list[str] = []
    real = phonenumbers.parse

    def counting(text: str, region: str) -> object:
        parsed.append(text)
        return real(text, region)

    monkeypatch.setattr(phonenumbers, "parse", counting)
    with batch_memo():
        with batch_memo():  # nested: the same memo
            assert phone_key("06 12 34 56 78") == "+33612345678"
        assert phone_key(" 06 12 34 56 78 ") == "+33612345678"  # the same text, trimmed
        # The region is part of the key: the same text read in another region is parsed again.
        assert phone_key("06 12 34 56 78", "BE") != "+33612345678"
        with override_settings(CRM_PHONE_REGION="BE"):
            assert phone_key("06 12 34 56 78") == phone_key("06 12 34 56 78", "BE")
    assert parsed == ["06 12 34 56 78", "06 12 34 56 78"]
    assert matching._MEMO.get() is None
    phone_key("06 12 34 56 78")  # outside a batch: computed every time
    assert len(parsed) == 3
