import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The auction tests log users in with force_login: a cheap hasher keeps user creation fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
