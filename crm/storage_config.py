"""Where uploaded files live, read from the environment by ``crm/settings.py`` (it needs no
configured Django, so the settings can use it; a wrong value stops the start with
``ImproperlyConfigured``).

Without ``CRM_S3_BUCKET``, files stay on the local disk under ``MEDIA_ROOT``: one machine only.
With it, they go to an S3-compatible object store through django-storages, which every web
process and worker on every machine shares (README, "Files and object storage"):

==============================  ==================================================================
``CRM_S3_BUCKET``               the bucket (turns object storage on)
``CRM_S3_ENDPOINT_URL``         the service's URL, for anything but AWS (MinIO, Garage, Ceph,
                                Scaleway, OVH, R2, ...): ``https://s3.fr-par.scw.cloud``
``CRM_S3_REGION``               the region (``us-east-1`` when the service does not care)
``CRM_S3_ACCESS_KEY_ID``        the key; without it boto3's usual chain (``AWS_ACCESS_KEY_ID``, an
``CRM_S3_SECRET_ACCESS_KEY``    instance role, ``~/.aws``)
``CRM_S3_ADDRESSING_STYLE``     ``path`` (``host/bucket/key``: most self-hosted services) or
                                ``virtual`` (``bucket.host/key``); boto3 chooses when unset
``CRM_S3_PREFIX``               a folder inside the bucket for every file (``crm/``), empty by
                                default
``CRM_S3_URL_SECONDS``          how long a download link stays valid (60 s)
==============================  ==================================================================

Objects are private (``default_acl`` ``private``); a download is a permission-checked view that
answers with a presigned link valid for ``CRM_S3_URL_SECONDS`` (``crm.files``), never a public
URL. An upload never replaces another file of the same name (``file_overwrite`` off)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
DEFAULT_URL_SECONDS = 60


def s3_storage(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The ``STORAGES["default"]`` entry these variables describe, or None without a bucket."""
    bucket = env.get("CRM_S3_BUCKET", "").strip()
    if not bucket:
        return None
    style = env.get("CRM_S3_ADDRESSING_STYLE", "").strip().lower() or None
    if style not in (None, "path", "virtual"):
        raise ImproperlyConfigured(
            f"CRM_S3_ADDRESSING_STYLE must be 'path' or 'virtual', not {style!r}"
        )
    raw = env.get("CRM_S3_URL_SECONDS", "").strip() or str(DEFAULT_URL_SECONDS)
    if not raw.isdigit() or not 1 <= int(raw) <= 3600:
        raise ImproperlyConfigured(
            f"CRM_S3_URL_SECONDS must be a number of seconds from 1 to 3600, not {raw!r}"
        )
    seconds = int(raw)
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env.get("CRM_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": env.get("CRM_S3_REGION", "").strip() or None,
            "access_key": env.get("CRM_S3_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": env.get("CRM_S3_SECRET_ACCESS_KEY", "").strip() or None,
            "addressing_style": style,
            "signature_version": "s3v4",
            "location": env.get("CRM_S3_PREFIX", "").strip().strip("/"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": seconds,
            "file_overwrite": False,
            # Never a public URL: no custom domain (django-storages would then sign nothing).
            "custom_domain": None,
        },
    }
