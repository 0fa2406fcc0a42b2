"""The user manager: ``createsuperuser`` makes an admin account (every other role belongs to an
organisation, which the command line cannot choose), through the same service as every account."""
from __future__ import annotations

from django.contrib.auth.models import UserManager as DjangoUserManager


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        from trading.services import create_user

        if extra_fields.get("role", "admin") != "admin":
            raise ValueError("a superuser is an admin account (role admin)")
        return create_user(actor=None, username=username, password=password or "", role="admin",
                           organisation=None, email=email or "", superuser=True)
