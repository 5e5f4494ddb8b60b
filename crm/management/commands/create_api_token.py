"""``manage.py create_api_token USERNAME [--name NAME]``: prints a new API token for the user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.api.tokens import api_token_create
from crm.models import User
from crm.services import Refused


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['username']!r}.")
        try:
            _token, raw = api_token_create(actor=None, user=user, name=options["name"])
        except Refused as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(raw)
