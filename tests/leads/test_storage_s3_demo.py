"""``manage.py seed_demo`` on S3-compatible object storage (the real ``moto_server`` of
tests/s3.py): every demo document's file is an object of the bucket, none is on the disk."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from crm.models import Document
from tests.s3 import S3Bucket

pytestmark = pytest.mark.django_db


def test_the_demo_documents_are_objects_of_the_bucket(s3_storage: S3Bucket, settings: Any) -> None:
    settings.DEBUG = True  # the command refuses to run on a production configuration
    call_command("seed_demo", leads=40, stdout=StringIO())
    names = sorted(Document.objects.values_list("file", flat=True))
    assert names and s3_storage.object_keys() == names
    document = Document.objects.order_by("pk").first()
    assert document is not None
    assert s3_storage.read(document.file.name) == document.file.open("rb").read()
    assert len(s3_storage.read(document.file.name)) == document.size
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
