#!/usr/bin/env python3
"""`make bench-render`: median wall time of `helm template` (10 runs) and object counts for charts/airflow.

Sets: the default values, and the largest sensible combination of values files (local cluster images + git-sync
DAGs + S3 logs + network policies). Prints a table; `--json` also writes the numbers. The timing itself is
`airkube.bench.render.time_render` (the same code as P4 of `airkube bench`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "airflow"
sys.path.insert(0, str(ROOT / "tools"))  # run from a checkout without the package installed too

from airkube.bench.render import time_render  # noqa: E402

SETS = {
    "defaults": [],
    "largest (local + dags-git-sync + logs-s3 + networkPolicies)": [
        "-f", "values/local.yaml", "-f", "values/dags-git-sync.yaml", "-f", "values/logs-s3.yaml",
        "--set", "networkPolicies.enabled=true"],
}


def helm_binary(name: str) -> str:
    local = ROOT / ".venv" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: run `make setup`")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--helm", default="helm", help="helm binary (helm or helm3)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    helm = helm_binary(args.helm)
    version = subprocess.run([helm, "version", "--short"], capture_output=True, text=True).stdout.strip()
    rows = []
    for name, extra in SETS.items():
        try:
            timing = time_render(CHART, [], name, runs=args.runs, helm=helm, extra_args=extra, cwd=ROOT)
        except RuntimeError as exc:
            sys.exit(str(exc))
        s = timing.seconds
        rows.append({"set": name, "median_ms": round(s.median * 1000, 1), "min_ms": round(s.min * 1000, 1),
                     "max_ms": round(s.max * 1000, 1), "objects": timing.objects, "bytes": timing.bytes,
                     "kinds": timing.kinds})
    print(f"helm template, {args.runs} runs each ({version})\n")
    header = f"{'values set':<62} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'objects':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['set']:<62} {r['median_ms']:>10} {r['min_ms']:>8} {r['max_ms']:>8} {r['objects']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"helm": version, "runs": args.runs, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
