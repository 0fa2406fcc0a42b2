"""The ASGI process's garbage collector thresholds (config/asgi.py, SUNLIGHT_WEB_GC_THRESHOLD): raised from
CPython's for a process holding thousands of websockets, set by the environment, refused when malformed;
cyclic garbage is still collected."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_ints

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, weakref
import config.asgi

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle: only the collector frees it
gone = weakref.ref(a)
del a, b
gc.collect()
print(gc.isenabled(), gc.get_threshold(), gone() is None)
"""


def _asgi_process(**env) -> str:
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip()


@pytest.mark.slow
def test_the_asgi_process_sets_its_collector_thresholds_and_still_collects_cycles():
    assert _asgi_process(SUNLIGHT_WEB_GC_THRESHOLD="") == "True (50000, 20, 10) True"
    assert _asgi_process(SUNLIGHT_WEB_GC_THRESHOLD="700,10,10") == "True (700, 10, 10) True"


def test_thresholds_from_the_environment(monkeypatch):
    monkeypatch.setenv("X_GC", " 900, 5,2 ")
    assert env_ints("X_GC", (1, 2, 3), minimum=1) == (900, 5, 2)
    monkeypatch.delenv("X_GC")
    assert env_ints("X_GC", (1, 2, 3), minimum=1) == (1, 2, 3)
    for bad in ("700,10", "700,10,10,10", "700,x,10", "0,10,10", "700,,10"):
        monkeypatch.setenv("X_GC", bad)
        with pytest.raises(ImproperlyConfigured, match="X_GC"):
            env_ints("X_GC", (1, 2, 3), minimum=1)
