"""One settings module, configured by environment variables with safe local defaults.

- ``DATABASE_URL``: ``postgres://user@host:port/name`` switches to PostgreSQL; default is a SQLite
  file next to ``manage.py``.
- ``DJANGO_DEBUG``: ``1`` (default) for local work; ``0`` for production.
- ``DJANGO_SECRET_KEY``: required when ``DJANGO_DEBUG=0``; a local key is generated otherwise.
- ``DJANGO_ALLOWED_HOSTS``: comma-separated, production only.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")
    # Local use only: a stable key per checkout, never used in production.
    _key_file = BASE_DIR / ".secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]
if DEBUG:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "crm",
    "contacts",
    "deals",
    "leads",
    "home",
    "reports",
    "rest_framework",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy: the block at the end
    "crm.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "crm.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and a management command share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

elif DATABASES["default"]["ENGINE"].endswith("postgresql") and not env_bool("CRM_DB_JIT", False):
    # PostgreSQL's JIT compiles a plan whose cost passes jit_above_cost: 100-2,000 ms of
    # compilation for statements that run in a few ms to a few hundred (issue 16: 130 ms per API
    # page, 2.4 s of a report). The pages read index ranges; JIT is off for this application's
    # connections unless CRM_DB_JIT=1. Options from PGOPTIONS (libpq's default, which a
    # connection's own "options" would replace) are kept.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(
        filter(None, [os.environ.get("PGOPTIONS", "").strip(), "-c jit=off"])
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True
# One date format per language, the short and long forms alike (crm/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["crm.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200_000  # bulk selections post many ids

CRM_DEFAULT_CURRENCY = os.environ.get("CRM_DEFAULT_CURRENCY", "EUR")
# An open deal with no activity (note, completed task, stage move, edit) for this many days is
# idle: marked on the pipeline board, listed on the home page (docs/rules.md#home).
CRM_IDLE_DEAL_DAYS = int(os.environ.get("CRM_IDLE_DEAL_DAYS", "14"))

# The JSON API: Zendesk Sell's Core API v2 dialect, bearer tokens only. The dialect is crm/api/;
# each app's resources are in its api.py.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["crm.api.parsers.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.EnvelopeParser"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.dialect.SellPagination",
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.EnvelopeAutoSchema",
    "EXCEPTION_HANDLER": "crm.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sales CRM API",
    "DESCRIPTION": "Zendesk Sell Core API v2 dialect, with lead conversions.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v2",
    "APPEND_COMPONENTS": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "SECURITY": [{"bearer": []}],
    "AUTHENTICATION_WHITELIST": [],
    "ENUM_NAME_OVERRIDES": {},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [
        o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
    ]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# Files in (issue 11, docs/rules.md#imports and #documents): what an upload may make a worker do.
# Sizes in bytes. A web import or document above its cap is refused on the form; an XLSX (web or
# ``import_records``) is inspected before it is parsed: its zip entries (count, uncompressed size
# of each and of all, compression ratio) and its sheet's declared dimension (rows, columns, cells).
CRM_IMPORT_MAX_SIZE = int(os.environ.get("CRM_IMPORT_MAX_SIZE", 100 * 1024 * 1024))
CRM_DOCUMENT_MAX_SIZE = int(os.environ.get("CRM_DOCUMENT_MAX_SIZE", 20 * 1024 * 1024))
CRM_IMPORT_MAX_ROWS = int(os.environ.get("CRM_IMPORT_MAX_ROWS", 1_000_000))
CRM_IMPORT_MAX_COLUMNS = int(os.environ.get("CRM_IMPORT_MAX_COLUMNS", 200))
CRM_IMPORT_MAX_CELLS = int(os.environ.get("CRM_IMPORT_MAX_CELLS", 20_000_000))
CRM_XLSX_MAX_UNCOMPRESSED = int(os.environ.get("CRM_XLSX_MAX_UNCOMPRESSED", 1024 * 1024 * 1024))
CRM_XLSX_MAX_ENTRY = int(os.environ.get("CRM_XLSX_MAX_ENTRY", 512 * 1024 * 1024))
CRM_XLSX_MAX_RATIO = int(os.environ.get("CRM_XLSX_MAX_RATIO", 100))
CRM_XLSX_MAX_ENTRIES = int(os.environ.get("CRM_XLSX_MAX_ENTRIES", 1000))

# --- Sign-in: throttling, sessions, password reset mail, two-factor, API rate limit -------------
# (docs/rules.md#sign-in; issue 11, finding 4.) Operators set:
# - ``REDIS_URL`` (``redis://host:6379/0``): the shared cache for several worker processes (the API
#   rate limit counts there); local memory otherwise (one process, counts per worker).
# - ``CRM_SIGNIN_FAILURE_LIMIT`` (5), ``CRM_SIGNIN_LOCKOUT_MINUTES`` (15),
#   ``CRM_SIGNIN_LOCKOUT_BY`` (``username+ip_address``: alternatives separated by commas, a ``+``
#   joins a combination; e.g. ``username+ip_address,ip_address``), ``CRM_SIGNIN_PROXY_COUNT``
#   (how many trusted proxies put the client address in X-Forwarded-For; 0 = REMOTE_ADDR only).
# - ``DJANGO_SESSION_HOURS`` (12): how long a sign-in lasts.
# - ``DJANGO_EMAIL_BACKEND`` (console), ``DJANGO_EMAIL_HOST``/``_PORT``/``_USER``/``_PASSWORD``/
#   ``_USE_TLS``, ``DJANGO_DEFAULT_FROM_EMAIL``: the password-reset mail.
# - ``CRM_API_RATE_LIMIT`` (``600/min``): requests per API token.
from datetime import timedelta  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

INSTALLED_APPS += ["axes"]
# Axes records failures in the database (shared by every worker) and locks out in the backend.
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "crm.auth.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("CRM_SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CRM_SIGNIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [
    alternative.split("+") if "+" in alternative else alternative
    for alternative in os.environ.get("CRM_SIGNIN_LOCKOUT_BY", "username+ip_address").split(",")
    if alternative
]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("CRM_SIGNIN_PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
AXES_VERBOSE = False

# One working day: a rep signs in each morning; a stolen cookie is worth at most a day.
SESSION_COOKIE_AGE = int(float(os.environ.get("DJANGO_SESSION_HOURS", "12")) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "crm@localhost")
PASSWORD_RESET_TIMEOUT = 3 * 3600

CRM_TOTP_ISSUER = os.environ.get("CRM_TOTP_ISSUER", "Sales CRM")
CRM_API_RATE_LIMIT = os.environ.get("CRM_API_RATE_LIMIT", "600/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["crm.api.authentication.TokenRateThrottle"]
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# ---- Stale connections (issue 11): a persistent connection is checked before a request reuses
# it, so a PostgreSQL restart or a dropped backend costs a reconnect, not a 500. The age is
# DJANGO_CONN_MAX_AGE (seconds, 60 by default; read above); SQLite keeps 0.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DJANGO_CONN_HEALTH_CHECKS", True)

# --- Trash (issue 11; docs/rules.md#trash) ---------------------------------------------------
# Days a deleted lead, contact or deal stays restorable before `manage.py purge_trash` deletes it
# for good with its documents' files.
CRM_TRASH_RETENTION_DAYS = int(os.environ.get("CRM_TRASH_RETENTION_DAYS", "30"))
# Phones written without a country code are read as numbers of this region (docs/rules.md#duplicates).
CRM_PHONE_REGION = os.environ.get("CRM_PHONE_REGION", "FR").strip().upper() or "FR"

# Headers (issue 11, finding 9; docs/security.md#headers). Content-Security-Policy by django-csp 4:
# nothing inline, no eval: every script and style comes from static/ (htmx's own indicator style too,
# see templates/base.html's htmx-config), images from static/ or data: URIs (the favicon). The
# Django admin and the API reference work under the same policy. DJANGO_CSP_REPORT_URI, when set,
# has browsers report violations there. Permissions-Policy by crm.middleware: the browser features
# no page uses are off, for the CRM and anything framed in it. HSTS, X-Frame-Options: DENY,
# nosniff and Referrer-Policy stay Django's (SecurityMiddleware, XFrameOptionsMiddleware).
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
if os.environ.get("DJANGO_CSP_REPORT_URI"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [os.environ["DJANGO_CSP_REPORT_URI"]]
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Background jobs (issue 12): django-tasks with its database backend; `manage.py worker` runs
# them (bin/serve starts one). See docs/rules.md#jobs.
INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CRM_JOB_HEARTBEAT_SECONDS = float(os.environ.get("CRM_JOB_HEARTBEAT_SECONDS", "10"))
CRM_JOB_STALE_SECONDS = float(os.environ.get("CRM_JOB_STALE_SECONDS", "120"))
CRM_JOB_SWEEP_SECONDS = float(os.environ.get("CRM_JOB_SWEEP_SECONDS", "30"))
CRM_JOB_PARALLEL_CHUNKS = int(
    os.environ.get("CRM_JOB_PARALLEL_CHUNKS", "8")
)  # queued at once per job
CRM_SCHEDULER_SECONDS = float(os.environ.get("CRM_SCHEDULER_SECONDS", "5"))
# How often a worker sums the kept totals' change rows (deals.pipeline, leads.totals).
CRM_PIPELINE_COMPACT_SECONDS = float(os.environ.get("CRM_PIPELINE_COMPACT_SECONDS", "300"))
# A report whose figures take this long to compute (seconds) is shown from its kept figures,
# "as of" when they were computed; kept figures older than CRM_REPORT_REFRESH_SECONDS are
# computed again by a worker when viewed (reports.figures, docs/rules.md#reports-kept-figures).
CRM_REPORT_INLINE_SECONDS = float(os.environ.get("CRM_REPORT_INLINE_SECONDS", "0.1"))
CRM_REPORT_REFRESH_SECONDS = float(os.environ.get("CRM_REPORT_REFRESH_SECONDS", "30"))
CRM_JOB_FILES_RETENTION_DAYS = float(os.environ.get("CRM_JOB_FILES_RETENTION_DAYS", "7"))

# --- Exports and bulk actions as jobs (issue 12, exports helper): above these sizes an export
# ("rows") or a bulk assign / tag / delete / transfer of "all N matching" ("records") runs as a
# background job. See docs/rules.md#exports and #bulk-actions.
CRM_EXPORT_JOB_THRESHOLD = int(os.environ.get("CRM_EXPORT_JOB_THRESHOLD", "10000"))
CRM_BULK_JOB_THRESHOLD = int(os.environ.get("CRM_BULK_JOB_THRESHOLD", "1000"))
CRM_BULK_JOB_CHUNK = int(os.environ.get("CRM_BULK_JOB_CHUNK", "1000"))
# --- Imports as jobs (issue 12, imports part): rows per chunk of an import (one transaction each).
CRM_IMPORT_CHUNK_ROWS = int(os.environ.get("CRM_IMPORT_CHUNK_ROWS", "1000"))
# --- Issue 12, the Jobs pages (jobsui): the top bar's indicator of my running jobs -------------
# crm.jobs.indicator: queries only for users who started a job from a page (a session flag).
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "crm.jobs.indicator.jobs_indicator"
)
# --- Bulk conversion as a job (issue 12, leads/conversion/jobs.py; docs/rules.md#bulk-job): above
# the threshold a bulk conversion runs as a job, in chunks of at most CRM_CONVERT_CHUNK_SIZE leads
# (one transaction each); an all-or-none batch (the API's) stays one transaction, capped.
CRM_CONVERT_JOB_THRESHOLD = int(os.environ.get("CRM_CONVERT_JOB_THRESHOLD", "1000"))
CRM_CONVERT_CHUNK_SIZE = int(os.environ.get("CRM_CONVERT_CHUNK_SIZE", "1000"))
CRM_CONVERT_ALL_OR_NONE_MAX = int(os.environ.get("CRM_CONVERT_ALL_OR_NONE_MAX", "1000"))
# --- Jobs: workers and faults (issue 12, the faults part; docs/faults.md) ----------------------
# CRM_JOB_MODULES: extra modules (comma-separated dotted paths) imported at start-up to register
# job kinds that are not an app's own; production leaves it empty (the tests' real worker processes
# load their test kinds with it). CRM_DB_APPLICATION_NAME names the PostgreSQL connection
# (pg_stat_activity.application_name), e.g. "crm-worker", so an operator sees who holds what.
CRM_JOB_MODULES = [m.strip() for m in os.environ.get("CRM_JOB_MODULES", "").split(",") if m.strip()]
if os.environ.get("CRM_DB_APPLICATION_NAME") and DATABASES["default"]["ENGINE"].endswith(
    "postgresql"
):
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ[
        "CRM_DB_APPLICATION_NAME"
    ]
# ---------- Files and object storage (issue 12, stateless web processes) ----------
# Documents, import files and exports go through Django's storage API: the local disk under
# MEDIA_ROOT by default (one machine), an S3-compatible bucket when CRM_S3_BUCKET is set (several
# web machines and workers); the variables are in crm/storage_config.py and the README.
from crm import storage_config  # noqa: E402 - this part's block stays at the end

_s3_storage = storage_config.s3_storage(os.environ)
if _s3_storage is not None:
    STORAGES["default"] = _s3_storage
