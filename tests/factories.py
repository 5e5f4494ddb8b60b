"""factory-boy factories for every model the tests build."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.declarations import BaseDeclaration

from contacts.models import Contact
from crm.models import (
    MANAGER_GROUP,
    REP_GROUP,
    CustomField,
    Document,
    LeadSource,
    Note,
    Tag,
    Task,
    User,
)
from deals.models import Deal, DealContact, Stage
from leads.models import Lead

# A factory attribute: a declaration, or a plain value used as is.
Declaration = BaseDeclaration | str


# Post-generation hooks receive the built model instance, not the factory, so they are
# plain typed functions rather than methods whose ``self`` mypy would take for the factory.
def _add_role(user: User, create: bool, extracted: Any, **kwargs: Any) -> None:
    if not create:
        return
    name = MANAGER_GROUP if extracted == "manager" else REP_GROUP
    user.groups.add(Group.objects.get(name=name))


def _add_tags(obj: Lead | Contact, create: bool, extracted: Any, **kwargs: Any) -> None:
    if create and extracted:
        obj.tags.add(*extracted)


def _link_contacts(deal: Deal, create: bool, extracted: Any, **kwargs: Any) -> None:
    if not create:
        return
    linked = list(extracted or [])
    if deal.main_contact_id and deal.main_contact not in linked:
        linked.insert(0, deal.main_contact)
    for contact in linked:
        DealContact.objects.get_or_create(deal=deal, contact=contact)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("demo")

    role = factory.PostGeneration(_add_role)


class LeadSourceFactory(factory.django.DjangoModelFactory[LeadSource]):
    class Meta:
        model = LeadSource
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Source {n}")


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag
        django_get_or_create = ("name", "scope")

    name = factory.Sequence(lambda n: f"tag{n}")
    scope = "leads"


class CustomFieldFactory(factory.django.DjangoModelFactory[CustomField]):
    class Meta:
        model = CustomField

    scope = "lead"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda f: f.key.replace("_", " ").title())
    field_type = "text"


def _company(n: int) -> str:
    """A company name no other row of the run shares. Faker's names repeat now and then, and two
    leads at "Brown Ltd" are one organisation to the duplicate rules: a test converting them as
    strangers failed by chance (the second lead refused, the organisation being another rep's)."""
    return f"{factory.Faker._get_faker().company()} {n}"


class LeadFactory(factory.django.DjangoModelFactory[Lead]):
    class Meta:
        model = Lead
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company_name = factory.Sequence(_company)
    email = factory.LazyAttributeSequence(
        lambda o, n: f"{o.first_name}.{o.last_name}.{n}@example.com".lower().replace(" ", "")
    )
    title = factory.Faker("job")
    owner = factory.SubFactory(UserFactory)

    tags = factory.PostGeneration(_add_tags)


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    # OrganizationFactory overrides these with plain values, which factory-boy accepts anywhere a
    # declaration goes.
    first_name: Declaration = factory.Faker("first_name")
    last_name: Declaration = factory.Faker("last_name")
    email: Declaration = factory.LazyAttributeSequence(
        lambda o, n: f"{o.first_name}.{o.last_name}.{n}@example.org".lower().replace(" ", "")
    )
    owner = factory.SubFactory(UserFactory)

    tags = factory.PostGeneration(_add_tags)


class OrganizationFactory(ContactFactory):
    is_organization = True
    first_name = ""
    last_name = ""
    email = ""
    name = factory.Sequence(_company)
    website = factory.LazyAttributeSequence(lambda o, n: f"https://www.company{n}.example")


def stage(name: str = "Incoming") -> Stage:
    return Stage.objects.get(name=name)


class DealFactory(factory.django.DjangoModelFactory[Deal]):
    class Meta:
        model = Deal
        skip_postgeneration_save = True

    name = factory.Faker("catch_phrase")
    value = factory.Faker("pydecimal", left_digits=5, right_digits=2, positive=True)
    stage = factory.LazyFunction(stage)
    owner = factory.SubFactory(UserFactory)

    contacts = factory.PostGeneration(_link_contacts)


def _subject_fields(obj: Any) -> dict[str, Any]:
    return {"content_type": ContentType.objects.get_for_model(obj), "object_id": obj.pk}


def make_note(subject: Any, content: str = "A note", **kwargs: Any) -> Note:
    return Note.objects.create(content=content, **_subject_fields(subject), **kwargs)


def make_task(subject: Any, content: str = "Call back", **kwargs: Any) -> Task:
    kwargs.setdefault("due_at", timezone.now() + timedelta(days=1))
    return Task.objects.create(content=content, **_subject_fields(subject), **kwargs)


def make_document(subject: Any, name: str = "brief.txt", data: bytes = b"hello") -> Document:
    document = Document(
        name=name, size=len(data), mime_type="text/plain", **_subject_fields(subject)
    )
    document.file.save(name, ContentFile(data), save=False)
    document.save()
    return document
