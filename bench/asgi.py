import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")

from config.asgi import application  # noqa: E402,F401
