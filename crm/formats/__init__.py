"""One date format per language (settings.FORMAT_MODULE_PATH; docs/rules.md#dates).

Every date a page shows goes through Django's named formats (``|date:"DATE_FORMAT"``,
``"SHORT_DATE_FORMAT"``, ``"DATETIME_FORMAT"``, ``"SHORT_DATETIME_FORMAT"``, ``|time:"TIME_FORMAT"``,
``django.utils.formats.date_format``), never a pattern of its own: these modules define them,
the short and long forms alike, so that a date reads the same on every page. Anything not set
here (input formats, number separators) comes from Django's own locale modules.
tests/crm/test_date_formats.py walks the templates and the code for hard-coded patterns."""
