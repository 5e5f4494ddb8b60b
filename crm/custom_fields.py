"""The one custom-field form mixin of the record forms (leads, contacts, deals): a ``cf_<key>``
field per definition of the form's scope, each value checked by its definition
(``CustomField.to_python``), the error next to the field. The forms validate; what they hand the
write services (``record_data``) is only what the user changed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from crm.models import CustomField, CustomFieldType
from crm.records import merge_custom_values

PREFIX = "cf_"


def custom_form_field(definition: CustomField) -> forms.Field:
    """A form field for one custom field definition; the definition itself validates."""
    common: dict[str, Any] = {"label": definition.label, "required": False}
    kind = definition.field_type
    if kind == CustomFieldType.CHECKBOX:
        return forms.BooleanField(**common)
    if kind == CustomFieldType.CHOICE:
        choices = [("", "—"), *((c, c) for c in definition.choices or [])]
        return forms.ChoiceField(choices=choices, **common)
    if kind == CustomFieldType.NUMBER:  # a comma is a decimal point too (French)
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    input_types: dict[str, str] = {
        CustomFieldType.DATE: "date",
        CustomFieldType.URL: "url",
        CustomFieldType.EMAIL: "email",
        CustomFieldType.PHONE: "tel",
    }
    attrs = {"type": input_types.get(kind, "text")}
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


class RecordFormMixin(forms.BaseForm):
    """What a record form hands its write service: by model field, the values the user changed
    (every value for a new record), custom fields as one ``custom_fields`` mapping of changes."""

    instance: Any

    def record_data(self) -> dict[str, Any]:
        adding = self.instance.pk is None
        model_fields = {f.name for f in self.instance._meta.get_fields()}
        names = self.cleaned_data if adding else self.changed_data
        data = {
            name: self.cleaned_data[name]
            for name in names
            if name in model_fields and name in self.cleaned_data
        }
        changes = getattr(self, "custom_field_changes", None)
        if changes is not None:
            custom = changes()
            if custom:
                data["custom_fields"] = custom
        return data


class CustomFieldsMixin(RecordFormMixin):
    """Adds a ``cf_<key>`` field per custom field of ``custom_scope``, validated by the
    definitions; ``custom_field_changes`` says which values the user changed."""

    custom_scope: str = ""
    custom_definitions: list[CustomField]

    def add_custom_fields(self, values: dict[str, Any] | None) -> None:
        values = values or {}
        self.custom_stored = dict(values)
        self.custom_definitions = list(CustomField.objects.filter(scope=self.custom_scope))
        for definition in self.custom_definitions:
            name = PREFIX + definition.key
            self.fields[name] = custom_form_field(definition)
            if definition.key in values:
                self.initial[name] = values[definition.key]

    @property
    def custom_field_names(self) -> list[str]:
        return [PREFIX + d.key for d in self.custom_definitions]

    @property
    def custom_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.custom_field_names]

    @property
    def profile_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.custom_field_names]

    def clean_custom_fields(self) -> None:
        """Each value through its definition; an unticked box stores nothing."""
        for definition in self.custom_definitions:
            name = PREFIX + definition.key
            if name not in self.cleaned_data:
                continue  # the field's own validation failed
            raw = self.cleaned_data[name]
            if definition.field_type == CustomFieldType.CHECKBOX and not raw:
                raw = None
            try:
                self.cleaned_data[name] = definition.to_python(raw)
            except ValidationError as exc:
                self.add_error(name, exc)

    def custom_field_changes(self) -> dict[str, Any]:
        """Key -> new value (None: remove it), for the values that differ from the stored ones
        (keys of removed definitions are kept: nothing stored is lost by an edit)."""
        changes: dict[str, Any] = {}
        for definition in self.custom_definitions:
            name = PREFIX + definition.key
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if value is False or value == "":
                value = None
            if value != self.custom_stored.get(definition.key):
                changes[definition.key] = value
        return changes

    def merged_custom_fields(self, existing: dict[str, Any] | None) -> dict[str, Any]:
        """The stored values with this form's changes applied (for ``ModelForm.save``)."""
        return merge_custom_values(existing, self.custom_field_changes())
