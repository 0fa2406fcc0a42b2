"""Benchmark: requests per second of the public notice list with 10,000 notices, against a
hello-world view on the same server in the same run (goal: ratio ≥ 0.5).

    .venv/bin/python bench/portal.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PY, ROOT, emit, fresh_database, free_port, load, start_server  # noqa: E402

SEED = r"""
import datetime as dt, time_machine
from django.utils import timezone
from tests import factories
from trading.models import Notice
from trading import services
with time_machine.travel(timezone.now() - dt.timedelta(days=60), tick=True):
    world = factories.make_world(bidders=2)
    kinds = [("engineering","open_tender"),("procurement","open_tender"),("land","listing"),("asset","auction")]
    projects = [factories.make_project(world, k, m, publish=True, title=f"基准项目 {i} {k}") for i,(k,m) in enumerate(kinds*5)]
rows, n = [], Notice.objects.count()
now = timezone.now()
for i in range(N - n):
    p = projects[i % len(projects)]
    rows.append(Notice(project=p, kind="clarification", number=f"{p.code}-B{i:06d}", title=f"{p.title} 澄清公告 第{i}号",
                       body="基准测试公告正文 " * 20, published_at=now - dt.timedelta(minutes=i), event_id=0))
Notice.objects.bulk_create(rows, batch_size=2000)
print(Notice.objects.count())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 3 if args.quick else 10
    notices = 10_000
    env = dict(os.environ, DATABASE_URL=fresh_database("sunlight_bench_portal"), DJANGO_SETTINGS_MODULE="bench.settings_bench",
               DEBUG="0", LOG_LEVEL="ERROR")
    env.pop("REDIS_URL", None)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([PY, "manage.py", "shell", "-c", f"N={notices}\n" + SEED], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    count = int(out.strip().splitlines()[-1])
    port = free_port()
    server = start_server(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        load(f"{base}/bench/hello/", 2)  # warm-up
        load(f"{base}/", 2)
        hello = load(f"{base}/bench/hello/", seconds)
        notice_list = load(f"{base}/", seconds)
        searched = load(f"{base}/?q=%E6%BE%84%E6%B8%85&project_kind=engineering&page=3", seconds)
        api_list = load(f"{base}/api/notices/?limit=25", seconds)
    finally:
        server.terminate()
        server.wait(10)
    ratio = notice_list["rps"] / hello["rps"]
    print(f"notices={count} hello={hello['rps']:.0f} rps, notice list={notice_list['rps']:.0f} rps (ratio {ratio:.2f}), "
          f"search={searched['rps']:.0f} rps, api={api_list['rps']:.0f} rps, tool={hello['tool']}")
    emit({
        "bench": "portal", "notices": count, "seconds": seconds,
        "hello_rps": round(hello["rps"], 1), "notice_list_rps": round(notice_list["rps"], 1),
        "search_rps": round(searched["rps"], 1), "api_notices_rps": round(api_list["rps"], 1),
        "errors": hello["errors"] + notice_list["errors"] + searched["errors"] + api_list["errors"],
        "goals": [{"name": "notice list rps / hello-world rps", "value": round(ratio, 3), "target": 0.5, "better": "higher"}],
    })


if __name__ == "__main__":
    main()
