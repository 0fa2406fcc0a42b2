"""Audit tests exercise the trading core alone: other capabilities' lifecycle hooks are switched off."""
import pytest


@pytest.fixture
def core_only(settings):
    from trading import services

    settings.SUNLIGHT_LIFECYCLE_HOOKS = {}
    services._hooks.cache_clear()
    yield
    services._hooks.cache_clear()
