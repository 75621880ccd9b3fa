"""Benchmark: render the managed PowerMTA file for many IPs, parse and write it back, and plan a
MailWizz quota sync for many servers. Run: .venv/bin/python bench/powermta_config.py"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from emailengine.integrations.mailwizz.quotas import IpInput, ServerRow, plan_sync
from emailengine.integrations.powermta.config import parse, write
from emailengine.integrations.powermta.render import DkimSpec, VmtaSpec, render_managed

STATES = ("ACTIVE", "WARMING", "RETIRING", "RESTING", "STANDBY", "QUARANTINE")


def specs(count: int) -> list[VmtaSpec]:
    lanes = {"gmail": 400, "microsoft": 200, "microsoft365": 50, "yahoo": 150, "apple": 40, "other": 100}
    return [VmtaSpec(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", f"mta{n}.example.net", f"vmta-{n}",
                     f"pool-{n % 10}", STATES[n % len(STATES)], 1000, 0, lanes) for n in range(count)]


def timed(label: str, func, repeat: int = 3):  # noqa: ANN001, ANN202
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<48} {best * 1000:9.1f} ms")
    return result


def main() -> None:
    for count in (100, 1000):
        ips = specs(count)
        dkim = [DkimSpec(f"d{n}.example.net", "s1", f"/etc/pmta/dkim/s1.d{n}.pem") for n in range(50)]
        text = timed(f"render {count} IPs", lambda ips=ips, dkim=dkim: render_managed(ips, dkim, "h"))
        print(f"{'':<48} {len(text) / 1e6:9.2f} MB, {text.count(chr(10))} lines")
        doc = timed(f"parse ({count} IPs)", lambda text=text: parse(text))
        out = timed(f"write ({count} IPs)", lambda doc=doc: write(doc))
        assert out == text
    now = datetime.now(UTC)
    inputs = [IpInput(f"10.0.{n // 256}.{n % 256}", STATES[n % 6], n, 1000, 0, now) for n in range(10000)]
    servers = {n: ServerRow(n, f"s{n}", "smtp-pmta", "active", 0, 0, None if n % 50 else 1) for n in range(10000)}
    plan = timed("plan_sync 10000 servers", lambda: plan_sync(inputs, servers, 50000, 0, now, timedelta(hours=36)))
    print(f"{'':<48} {len(plan.changes)} changes, {len(plan.skipped)} skipped")


if __name__ == "__main__":
    main()
