import pytest

from tests.factories import ContactFactory, DealFactory, LeadFactory, OrganizationFactory


@pytest.mark.django_db
def test_factories_build_valid_records() -> None:
    org = OrganizationFactory()
    person = ContactFactory(organization=org)
    DealFactory(main_contact=person, organization=org)
    LeadFactory()
    assert person.deal_links.count() == 1
