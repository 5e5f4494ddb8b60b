"""``{% export_threshold as n %}``: the number of rows above which an export runs as a job
(crm.export_jobs), for the export menu's note; ``{{ text|rows_in:n }}``: the note's text (one
with ``%s``, the same the menu's script fills as the filter changes) with ``n`` in it."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from crm.export_jobs import export_threshold as _threshold

register = template.Library()


@register.simple_tag
def export_threshold() -> int:
    return _threshold()


@register.filter
def rows_in(text: str, rows: int) -> str:
    return text.replace("%s", intcomma(rows), 1)
