"""The one lead-conversion service (docs/rules.md#conversion), single and bulk, and its undo.

Every entry point (web dialogs, admin action, API, commands) calls ``leads_convert`` and
``lead_conversion_undo``. A batch is set-based: a fixed number of queries decides and writes it
whatever its size. Each lead converts all-or-nothing; refused leads come back with a reason.

One job per module (Saleor's domains): ``types`` (options, decisions, results, errors),
``planning`` (reading the leads, finding duplicates, deciding), ``writing`` (the set-based
writes), ``snapshot`` (the typed record an exact undo reads), ``undo``, and ``convert`` (the
service that plans then writes). The public names are re-exported here.
"""

from leads.conversion.convert import lead_convert_edited, leads_convert
from leads.conversion.planning import ORGANIZATION_FIELDS, PERSON_FIELDS
from leads.conversion.snapshot import LEAD_SNAPSHOT_FIELDS, ConversionSnapshot, MergedContact
from leads.conversion.types import (
    AUTO,
    CONVERTED,
    CREATE,
    DUPLICATE_CHOICES,
    MERGE,
    NEW,
    REFUSED,
    SKIP,
    SKIPPED,
    ConversionOptions,
    ConversionRefused,
    ConversionResult,
    Decision,
    LeadResult,
)
from leads.conversion.undo import lead_conversion_undo, undo_blockers, undo_not_allowed

__all__ = [
    "AUTO",
    "CONVERTED",
    "CREATE",
    "DUPLICATE_CHOICES",
    "LEAD_SNAPSHOT_FIELDS",
    "MERGE",
    "NEW",
    "ORGANIZATION_FIELDS",
    "PERSON_FIELDS",
    "REFUSED",
    "SKIP",
    "SKIPPED",
    "ConversionOptions",
    "ConversionRefused",
    "ConversionResult",
    "ConversionSnapshot",
    "Decision",
    "LeadResult",
    "MergedContact",
    "lead_conversion_undo",
    "lead_convert_edited",
    "leads_convert",
    "undo_blockers",
    "undo_not_allowed",
]
