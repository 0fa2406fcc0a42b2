"""Deposit settings with safe demo defaults (all overridable in config/settings.py or the environment)."""
from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings


def unified_account() -> dict:
    default = {
        "name": "市公共资源交易中心保证金专户",
        "number": "3301 0400 0000 8866",
        "bank": "中国工商银行 市分行营业部",
    }
    return {**default, **getattr(settings, "SUNLIGHT_DEPOSIT_ACCOUNT", {})}


def number_prefix() -> str:
    return getattr(settings, "SUNLIGHT_DEPOSIT_PREFIX", "8866")


def number_key() -> bytes:
    """Key of the sub-account number permutation; derived from SECRET_KEY unless set."""
    explicit = getattr(settings, "SUNLIGHT_DEPOSIT_NUMBER_KEY", "") or os.environ.get("SUNLIGHT_DEPOSIT_NUMBER_KEY", "")
    if explicit:
        return explicit.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"sunlight-deposit-numbers", hashlib.sha256).digest()


def bank_secret() -> bytes:
    """Shared secret of the bank adapter's HMAC signatures; derived from SECRET_KEY unless set."""
    explicit = getattr(settings, "SUNLIGHT_BANK_SECRET", "") or os.environ.get("SUNLIGHT_BANK_SECRET", "")
    if explicit:
        return explicit.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"sunlight-bank-notifications", hashlib.sha256).digest()


def bank_adapter_path() -> str:
    return getattr(settings, "SUNLIGHT_BANK_ADAPTER", "") or os.environ.get(
        "SUNLIGHT_BANK_ADAPTER", "deposits.bank.fake.FakeBankAdapter")


def refund_max_attempts() -> int:
    return int(getattr(settings, "SUNLIGHT_REFUND_MAX_ATTEMPTS", 5))


def statement_max_bytes() -> int:
    return int(getattr(settings, "SUNLIGHT_STATEMENT_MAX_BYTES", 64 * 1024 * 1024))
