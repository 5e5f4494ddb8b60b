"""Serving a stored file (a document, an import's rejected rows, an export) to a user the calling
view has already checked: ``stored_file_response``. Files are read only through Django's storage
API, so the same code serves the local disk and an S3-compatible bucket (``crm.storage_config``).

- Local disk (or any storage that cannot sign links): the file is streamed by this process
  (``FileResponse`` from ``storage.open``).
- S3 with signed links (``querystring_auth``): a 302 to a presigned link valid for
  ``CRM_S3_URL_SECONDS`` (60 s), which tells the browser to save the file under its name
  (``ResponseContentDisposition``) with the type chosen here (``ResponseContentType``). The
  bucket stays private; the link is never cached (``Cache-Control: no-store``).

Either way: ``Content-Disposition: attachment`` by default, a type taken from the file's name
(not what an uploader claimed), and a type a browser would render or run (HTML, SVG, XML,
scripts) sent as ``application/octet-stream``, so an uploaded page never opens as a page."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header

# Types a browser would render as a page or run (docs/rules.md#documents): sent as plain bytes.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
    }
)


def safe_content_type(filename: str, content_type: str | None = None) -> str:
    """``content_type``, else the type ``filename`` says; ``application/octet-stream`` for an
    unknown type or one a browser would render or run."""
    chosen = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if chosen.split(";", 1)[0].strip().lower() in ACTIVE_TYPES:
        return "application/octet-stream"
    return chosen


def signing_storage(storage: Any) -> Any:
    """``storage`` itself when it hands out short-lived signed links (S3 with
    ``querystring_auth``): a download is then a redirect to such a link; None when this process
    must stream the file (local disk, or a bucket configured without signed links)."""
    from storages.backends.s3 import S3Storage  # boto3 loads only when a file is served

    # isinstance sees through default_storage's lazy proxy (LazyObject forwards __class__).
    if isinstance(storage, S3Storage) and storage.querystring_auth:
        return storage
    return None


def stored_file_response(
    request: HttpRequest,
    name: str,
    filename: str,
    *,
    as_attachment: bool = True,
    content_type: str | None = None,
    storage: Storage | None = None,
) -> HttpResponseBase:
    """The answer that gives the user the stored file ``name`` (as in ``FieldFile.name``) under
    the name ``filename``. Check the user's permission first: this function checks none.
    ``request`` is the request being answered (unused today: callers pass it so that a later
    need, say range requests, does not change every call).

    ``as_attachment``: the browser saves the file (default) rather than showing it.
    ``content_type``: by default the type ``filename`` says; render-or-run types are always
    sent as ``application/octet-stream``. ``storage``: the field's storage
    (``Model.field.field.storage``), ``default_storage`` by default.

    Raises ``Http404`` when the file is missing from the storage. A streamed answer carries
    ``X-Content-Type-Options: nosniff``; a redirect carries ``Cache-Control: no-store``."""
    storage = storage if storage is not None else default_storage
    if not name:
        raise Http404("No file.")
    kind = safe_content_type(filename, content_type)
    signing = signing_storage(storage)
    if signing is not None:
        if not signing.exists(name):
            raise Http404("The file is missing from the storage.")
        url = signing.url(
            name,
            parameters={
                "ResponseContentDisposition": content_disposition_header(as_attachment, filename)
                or "",
                "ResponseContentType": kind,
            },
        )
        response = HttpResponseRedirect(url)
        add_never_cache_headers(response)
        return response
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing from the storage.") from None
    streamed = FileResponse(
        handle, as_attachment=as_attachment, filename=filename, content_type=kind
    )
    streamed["X-Content-Type-Options"] = "nosniff"
    return streamed
