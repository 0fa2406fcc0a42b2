"""Run mypy over the project and hold every file to its committed error count (.mypy-baseline.json).

A file with more errors than its baseline fails the gate (a file not in the baseline is allowed none:
new code is typed).  ``--update-baseline`` lowers counts that went down and drops files that reached
zero; it refuses to raise one.  The strict pure modules (pyproject.toml) are never in the baseline.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".mypy-baseline.json"
TARGETS = ["audit", "bidding", "config", "deposits", "frontend", "trading", "tests", "bench",
           "sunlight_verify.py", "manage.py"]
ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):\d+(?::\d+)?: error: ")


def run_mypy() -> tuple[Counter[str], str]:
    proc = subprocess.run([sys.executable, "-m", "mypy", *TARGETS], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("mypy did not run")
    counts: Counter[str] = Counter()
    for line in proc.stdout.splitlines():
        m = ERROR.match(line)
        if m:
            counts[m["file"]] += 1
    return counts, proc.stdout


def strict_files() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    modules = [m for o in config["tool"]["mypy"]["overrides"] if o.get("disallow_untyped_defs") for m in o["module"]]
    return {m.replace(".", "/") + ".py" for m in modules}


def main(argv: list[str]) -> int:
    update = "--update-baseline" in argv
    baseline: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if "--init" in argv:  # once, when the gate was introduced
        baseline = {f: n for f, n in run_mypy()[0].items() if f not in strict_files()}
        BASELINE.write_text(json.dumps(dict(sorted(baseline.items())), indent=1) + "\n")
        return 0
    for f in strict_files() & set(baseline):
        del baseline[f]  # a strict module has no allowance
    counts, output = run_mypy()
    worse = {f: n for f, n in counts.items() if n > baseline.get(f, 0)}
    better = {f: n for f, n in baseline.items() if counts.get(f, 0) < n}
    if worse:
        for line in output.splitlines():
            m = ERROR.match(line)
            if m and m["file"] in worse:
                print(line)
        print("\nmypy: more errors than the baseline allows (.mypy-baseline.json):")
        for f, n in sorted(worse.items()):
            print(f"  {f}: {n} errors, baseline {baseline.get(f, 0)}")
        print("Fix them (the baseline never grows).")
        return 1
    if update:
        shrunk = {f: counts[f] for f in sorted(baseline) if counts.get(f, 0) > 0}
        BASELINE.write_text(json.dumps(shrunk, indent=1, sort_keys=True) + "\n")
        print(f"mypy baseline: {sum(shrunk.values())} errors in {len(shrunk)} files")
    elif better:
        print(f"mypy: {len(better)} file(s) now have fewer errors than the baseline; lock it in with "
              "scripts/lint --update-baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
