"""The app served by gunicorn on loopback, as in production, for the benchmarks that time pages
over HTTP (``bench_api``, ``bench_sync``, ``bench_pages``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env(**overrides: str) -> dict[str, str]:
    """This process's environment with the production settings switched on for 127.0.0.1
    (no HTTPS redirect on loopback); ``overrides`` last."""
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    env.setdefault("DJANGO_SECRET_KEY", settings.SECRET_KEY)
    env["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    env.update(overrides)
    return env


@contextmanager
def gunicorn(*, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start gunicorn on a free loopback port and yield its base URL (``http://127.0.0.1:N``);
    stopped on the way out. It may not answer yet: the caller waits for its first page."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "crm.wsgi",
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
            *("--log-level", "warning", "--access-logfile=/dev/null", "--timeout=300"),
        ],
        cwd=settings.BASE_DIR,
        env=env or production_env(),
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_up(
    session: requests.Session, url: str, *, tries: int = 150, **kwargs: object
) -> None:
    """GET ``url`` until the server answers (a fresh gunicorn may not listen yet, or be slow
    to load on a busy machine); raise when it never does."""
    for _ in range(tries):
        try:
            session.get(url, timeout=120, **kwargs)  # type: ignore[arg-type]
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer {url}")
