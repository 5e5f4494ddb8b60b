"""Streaming exports (CSV and XLSX) of any list, and the column definitions the imports share.

A list's columns are ``Column``s (header, how to read the value from a record, the other header
names an import recognises). ``export_response`` answers an export request: which records
(``scope``: all, the list's current filter, or the ticked ``pk``s), which format (``csv`` or
``xlsx``). Records are read with ``QuerySet.iterator(chunk_size=...)`` (prefetches run per chunk)
and written as they come: CSV through ``StreamingHttpResponse``, XLSX through openpyxl's
write-only workbook into a temporary file that is then streamed. Memory stays bounded whatever the
number of rows.

Headers are the columns' labels in the user's language; the imports recognise them (and the
English and French names), so an export re-imports cleanly. Values are written as the import
reads them: dates ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS`` in the current time zone,
tags comma-separated, users by username.

Text that a spreadsheet would take for a formula (it starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is neutralised (the OWASP rule, docs/rules.md#exports): in CSV it gets a
leading quote ``'``, which the import removes again; in XLSX it is written as a text cell marked
"quote prefix", never a formula. Numbers and dates are never quoted. Characters XLSX forbids
(control characters other than tab, newline and carriage return) are dropped from XLSX cells.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

CHUNK_SIZE = 2000
CSV_FORMAT, XLSX_FORMAT = "csv", "xlsx"
FORMATS = (CSV_FORMAT, XLSX_FORMAT)
ALL, FILTERED, SELECTED = "all", "filtered", "selected"
SCOPES = (ALL, FILTERED, SELECTED)
# Not filters: the list's state, and the export's own parameters.
NOT_FILTERS = ("page", "sort", "per_page", "view", "pk", "all", "scope", "format")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column of an export, and what an import maps to it.

    ``key`` names the import target (a field name, ``tags``, ``cf:<custom field key>``);
    ``header`` is the (lazily translated) label; ``aliases`` are further header names an import
    recognises (French names, common spellings); ``importable`` False for values an import
    leaves alone (computed statuses)."""

    key: str
    header: Any
    get: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()
    importable: bool = True


def header_key(text: Any) -> str:
    """A header, compared loosely: "E-mail", "email " and "EMAIL" -> "email"; "Prénom" ->
    "prenom"."""
    decomposed = unicodedata.normalize("NFKD", str(text or "")).casefold()
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "", plain)


def text_of(value: Any) -> str:
    """A value as the export writes it (and the import reads it back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Cell:
    """An exported value as text; ``formula_like`` when it is text (not a number or a date)
    that a spreadsheet would read as a formula."""

    text: str
    formula_like: bool = False


def cell_of(value: Any) -> Cell:
    text = text_of(value)
    return Cell(text, isinstance(value, str) and text.startswith(FORMULA_START))


def neutralise(text: Any) -> str:
    """A CSV cell (OWASP): text that a spreadsheet would read as a formula gets a leading quote.
    For a text value only: the number -5 stays -5 (see ``export_rows``)."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_cells(columns: Sequence[Column], records: Iterable[Any]) -> Iterator[list[Cell]]:
    getters = [c.get for c in columns]
    for record in records:
        yield [cell_of(get(record)) for get in getters]


def export_rows(columns: Sequence[Column], records: Iterable[Any]) -> Iterator[list[str]]:
    """The rows as CSV cells: formula-like text neutralised."""
    for cells in export_cells(columns, records):
        yield [("'" + c.text) if c.formula_like else c.text for c in cells]


def export_records(
    queryset: QuerySet[Any], *, scope: str, query: Any, filterset_class: Any, request: Any
) -> QuerySet[Any]:
    """The records an export covers: all of ``queryset``, those the list's FilterSet keeps for
    ``query`` (the list's query string), or the ticked ``pk``s."""
    if scope == FILTERED:
        data = query.copy()
        for name in NOT_FILTERS:
            data.pop(name, None)
        filterset: django_filters.FilterSet = filterset_class(
            data, queryset=queryset, request=request
        )
        return filterset.qs
    if scope == SELECTED:
        ids = [int(v) for v in query.getlist("pk") if str(v).isdigit()]
        return queryset.filter(pk__in=ids)
    return queryset


class _Echo:
    """A file-like whose ``write`` returns the text written (for ``csv.writer``)."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(
    columns: Sequence[Column], records: Iterable[Any], *, batch: int = 500
) -> Iterator[bytes]:
    """CSV bytes (UTF-8 with a byte-order mark, so spreadsheets read the accents), a few
    hundred rows per chunk."""
    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow([neutralise(c.header) for c in columns])).encode()
    pending: list[str] = []
    for row in export_rows(columns, records):
        pending.append(writer.writerow(row))
        if len(pending) >= batch:
            yield "".join(pending).encode()
            pending = []
    if pending:
        yield "".join(pending).encode()


def xlsx_file(columns: Sequence[Column], records: Iterable[Any], *, title: str) -> Any:
    """A temporary file holding the XLSX workbook, written row by row (openpyxl write-only
    mode keeps only the current row in memory), positioned at its start. Formula-like text is
    a text cell with Excel's quote prefix (openpyxl would write any ``=...`` string as a
    formula); characters XLSX forbids are dropped."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Export")

    def value(cell: Cell) -> Any:
        text = ILLEGAL_CHARACTERS_RE.sub("", cell.text)
        if not cell.formula_like:
            return text or None  # an empty cell costs nothing
        written = WriteOnlyCell(sheet, value=text)
        written.data_type = "s"
        written.quotePrefix = True
        return written

    sheet.append([value(cell_of(str(c.header))) for c in columns])
    for cells in export_cells(columns, records):
        sheet.append([value(cell) for cell in cells])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    workbook.save(handle)
    handle.seek(0)
    return handle


def export_response(
    request: HttpRequest,
    *,
    name: str,
    columns: Sequence[Column],
    queryset: QuerySet[Any],
    filterset_class: Any,
    background: Any = None,
) -> HttpResponseBase:
    """The export of a list: ``?format=csv|xlsx&scope=all|filtered|selected`` plus the list's
    filters (``filtered``) or ticked ``pk``s (``selected``). With ``background`` (an object with
    ``threshold()`` and ``respond(request, scope=, fmt=, rows=)``, crm.export_jobs), an export of
    more rows than the threshold is handed over to a job instead of streamed."""
    fmt = request.GET.get("format", CSV_FORMAT)
    scope = request.GET.get("scope", ALL)
    if fmt not in FORMATS or scope not in SCOPES:
        return HttpResponse(_("Unknown export format or scope."), status=400)
    matching = export_records(
        queryset, scope=scope, query=request.GET, filterset_class=filterset_class, request=request
    )
    if background is not None:
        # Large exports are prepared by a worker (crm.export_jobs); one COUNT decides.
        rows = matching.count()
        if rows > background.threshold():
            return background.respond(request, scope=scope, fmt=fmt, rows=rows)
    records = matching.iterator(chunk_size=CHUNK_SIZE)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{name}-{stamp}.{fmt}"
    if fmt == XLSX_FORMAT:
        handle = xlsx_file(columns, records, title=name)
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
    response = StreamingHttpResponse(
        csv_chunks(columns, records), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_view(
    *,
    name: str,
    columns: Callable[[], Sequence[Column]] | None = None,
    queryset: Callable[[], QuerySet[Any]] | None = None,
    filterset_class: Any = None,
) -> Callable[[HttpRequest], HttpResponseBase]:
    """A view exporting one list (everyone signed in sees every record, so may export it).
    Without ``columns``/``queryset``/``filterset_class``, the list's registered export
    (``crm.export_jobs.register_export``) is used, and exports above the threshold run as jobs.
    """

    def view(request: HttpRequest) -> HttpResponseBase:
        if columns is None or queryset is None:
            from crm import export_jobs

            spec = export_jobs.export_spec(name)
            return export_response(
                request,
                name=name,
                columns=spec.columns(),
                queryset=spec.queryset(),
                filterset_class=spec.filterset_class,
                background=export_jobs.Background(spec),
            )
        return export_response(
            request,
            name=name,
            columns=columns(),
            queryset=queryset(),
            filterset_class=filterset_class,
        )

    view.__name__ = f"{name}_export_view"
    return view


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda record: getattr(record, name)


def _related_name(name: str, attr: str = "name") -> Callable[[Any], Any]:
    def get(record: Any) -> Any:
        related = getattr(record, name)
        return getattr(related, attr) if related is not None else ""

    return get


def tag_names(record: Any) -> str:
    """Tags comma-separated, sorted (from the prefetched ``tags``)."""
    return ", ".join(sorted((t.name for t in record.tags.all()), key=str.casefold))


def owner_username(record: Any) -> str:
    return record.owner.username if record.owner_id else ""


def custom_field_columns(scope: str) -> list[Column]:
    """One column per custom field of ``scope`` (``cf:<key>``), headed by its label."""
    from crm.models import CustomField

    def getter(key: str) -> Callable[[Any], Any]:
        return lambda record: (record.custom_fields or {}).get(key)

    return [
        Column(f"cf:{f.key}", f.label, getter(f.key), aliases=(f.key,))
        for f in CustomField.objects.filter(scope=scope).order_by("position", "label")
    ]


def _info(key: str, header: Any, *aliases: str) -> Column:
    return Column(key, header, _attr(key), aliases)


def contact_info_columns() -> list[Column]:
    """The profile fields a lead and a contact share (``crm.models.ContactInfo``)."""
    from django.utils.translation import gettext_lazy

    return [
        _info(
            "title", gettext_lazy("Title"), "Poste", "Fonction", "Job title", "Titre", "Intitulé"
        ),
        _info("email", gettext_lazy("Email"), "E-mail", "Courriel", "Mail", "Adresse e-mail"),
        _info(
            "mobile",
            gettext_lazy("Mobile"),
            "Portable",
            "Téléphone portable",
            "Mobile phone",
            "Cell",
        ),
        _info("phone", gettext_lazy("Work phone"), "Téléphone", "Tél", "Phone", "Téléphone fixe"),
        _info("fax", gettext_lazy("Fax"), "Télécopie"),
        _info(
            "website", gettext_lazy("Website"), "Site web", "Site", "Site internet", "URL", "Web"
        ),
        _info("industry", gettext_lazy("Industry"), "Secteur", "Secteur d'activité", "Activité"),
        _info("description", gettext_lazy("Description"), "Commentaire", "Commentaires"),
        _info("street", gettext_lazy("Street"), "Adresse", "Rue", "Address"),
        _info("city", gettext_lazy("City"), "Ville", "Town"),
        _info("postal_code", gettext_lazy("Postal code"), "Code postal", "CP", "Zip", "Zip code"),
        _info("region", gettext_lazy("Region"), "Région", "State", "Département"),
        _info("country", gettext_lazy("Country"), "Pays"),
        _info("social_x", gettext_lazy("X"), "Twitter"),
        _info("facebook", gettext_lazy("Facebook")),
        _info("skype", gettext_lazy("Skype")),
        _info("linkedin", gettext_lazy("LinkedIn")),
    ]


def common_tail_columns() -> list[Column]:
    """Source, tags, owner and creation date (leads and contacts)."""
    from django.utils.translation import gettext_lazy

    return [
        Column(
            "source",
            gettext_lazy("Source"),
            _related_name("source"),
            ("Origine", "Lead source", "Source du lead", "Provenance"),
        ),
        Column(
            "tags", gettext_lazy("Tags"), tag_names, ("Étiquettes", "Etiquette", "Mots-clés", "Tag")
        ),
        Column(
            "owner",
            gettext_lazy("Owner"),
            owner_username,
            ("Propriétaire", "Responsable", "Commercial", "Assigned to", "Assigné à"),
        ),
        Column(
            "created_at",
            gettext_lazy("Created"),
            _attr("created_at"),
            ("Date de création", "Créé le", "Created at", "Creation date", "Date created"),
        ),
    ]
