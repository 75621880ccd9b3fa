"""Start-up time of `ee --version` and `ee --help` against a bare `python -c pass`.

Targets (issue 2): --version within 3x bare Python, --help within 15x.
Run: .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_ms(command: list[str], runs: int) -> float:
    env = dict(os.environ, TERM="dumb")
    for _ in range(3):  # warm the page cache
        subprocess.run(command, capture_output=True, env=env, check=False)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=False)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ee = shutil.which("ee", path=str(Path(sys.executable).parent)) or "ee"
    bare = median_ms([sys.executable, "-c", "pass"], args.runs)
    version = median_ms([ee, "--version"], args.runs)
    help_ = median_ms([ee, "--help"], args.runs)
    rows = [("python -c pass", bare, 1.0, None), ("ee --version", version, version / bare, 3.0),
            ("ee --help", help_, help_ / bare, 15.0)]
    print(f"{'command':<16} {'median ms':>10} {'x bare':>8} {'target':>8}  verdict")
    failed = False
    for name, ms, ratio, target in rows:
        verdict = "" if target is None else ("ok" if ratio <= target else "OVER")
        failed |= verdict == "OVER"
        print(f"{name:<16} {ms:>10.1f} {ratio:>8.2f} {('' if target is None else f'{target:.0f}x'):>8}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
