"""Writes of leads, contacts and deals go through the web app's own forms (their rules: a lead
needs a last name or a company, an organisation a name, custom fields checked by their
definitions, currency codes, owners that are active users, ...). The API maps Sell's attribute
names onto the form's fields, and the form's errors back onto Sell's names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from crm.api.dialect import invalid
from crm.permissions import is_manager
from crm.tags import scoped_tags_by_name, tag_key

# Form field -> Sell attribute, for error messages.
FIELD_NAMES = {
    "company_name": "organization_name",
    "social_x": "twitter",
    "street": "address.line1",
    "city": "address.city",
    "postal_code": "address.postal_code",
    "region": "address.state",
    "country": "address.country",
    "owner": "owner_id",
    "source": "source_id",
    "unqualified_reason": "unqualified_reason_id",
    "organization": "contact_id",
    "main_contact": "contact_id",
    "stage": "stage_id",
    "expected_close_date": "estimated_close_date",
    "kind": "is_organization",
}


def sell_name(form_field: str, overrides: dict[str, str] | None = None) -> str:
    if overrides and form_field in overrides:
        return overrides[form_field]
    if form_field.startswith("cf_"):
        return "custom_fields." + form_field[3:]
    return FIELD_NAMES.get(form_field, form_field)


def form_data(form_class: type[forms.ModelForm], instance: Model | None) -> dict[str, Any]:
    """What the form would post for ``instance`` unchanged (empty for a new record)."""
    if instance is None or instance.pk is None:
        return {}
    fields = [f for f in form_class._meta.fields or [] if f != "tags"]
    data: dict[str, Any] = model_to_dict(instance, fields=fields)
    if "tags" in (form_class._meta.fields or []):
        data["tags"] = [t.pk for t in instance.tags.all()]  # type: ignore[attr-defined]
    for key, value in (getattr(instance, "custom_fields", None) or {}).items():
        data["cf_" + key] = value
    return data


def apply_custom_fields(data: dict[str, Any], values: Any, scope: str) -> None:
    from crm.models import CustomField

    if values is None:
        return
    keys = set(CustomField.objects.filter(scope=scope).values_list("key", flat=True))
    errors = {}
    for key, value in values.items():
        if key not in keys:
            errors[f"custom_fields.{key}"] = [_("Unknown custom field.")]
            continue
        if isinstance(value, dict | list):
            errors[f"custom_fields.{key}"] = [_("Must be a single value.")]
            continue
        data["cf_" + key] = value
    if errors:
        raise invalid(errors)


def tag_ids(names: list[str] | None, *, scopes: tuple[str, ...], user: Any) -> list[int] | None:
    """Tag names -> ids in the resource's scopes. A manager's unknown names become new tags
    (as in the settings); a rep may only use existing tags."""
    if names is None:
        return None
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    found = scoped_tags_by_name(
        names=[(scope, name) for scope in scopes for name in wanted], create=False
    )
    ids: list[int] = []
    missing = []
    for name in wanted:
        # The first of the resource's scopes that has the name (the one tag lookup's case rule).
        pk = next((found[key] for s in scopes if (key := (s, tag_key(name))) in found), None)
        if pk is None:
            missing.append(name)
        else:
            ids.append(pk)
    if missing:
        if not is_manager(user):
            raise invalid(
                {
                    "tags": [
                        _("Unknown tag “%s”: a manager adds tags in the settings.") % name
                        for name in missing
                    ]
                }
            )
        from crm.forms import TagForm
        from crm.services import settings_save

        for name in missing:
            form = TagForm({"name": name, "scope": scopes[0]})
            if not form.is_valid():
                raise invalid({"tags": [str(m) for e in form.errors.values() for m in e]})
            ids.append(settings_save(user, form).pk)
    return ids


def bound_form(
    form_class: type[forms.ModelForm],
    *,
    instance: Model | None,
    changes: dict[str, Any],
    overrides: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """The form bound to the record's current values with ``changes`` applied; 422 naming the
    Sell attributes when it is invalid."""
    data = {**form_data(form_class, instance), **changes}
    if instance is not None:
        kwargs["instance"] = instance
    form = form_class(data, **kwargs)
    if not form.is_valid():
        errors: dict[str, list[str]] = {}
        for name, messages in form.errors.items():
            errors.setdefault(sell_name(name, overrides), []).extend(str(m) for m in messages)
        raise invalid(errors)
    return form
