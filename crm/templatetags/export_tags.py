"""``{% export_threshold as n %}``: the number of rows above which an export runs as a job
(crm.export_jobs), for the export menu's note."""

from django import template

from crm.export_jobs import export_threshold as _threshold

register = template.Library()


@register.simple_tag
def export_threshold() -> int:
    return _threshold()
