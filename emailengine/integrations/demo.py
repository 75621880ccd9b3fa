"""`ee demo` part: PowerMTA managed config (render + apply with a fake `pmta` and the management
API stand-in), the pools, the top queues, and the MailWizz sync-quotas plan as a dry run against
simulated delivery-server rows (no MariaDB on a fresh machine).

The fake pmta and the API stand-in stay configured (EE_PMTA_CMD / EE_PMTA_URL) for the rest of
the demo, so later parts that change IP states push them to "PowerMTA" through the same code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.demo import DemoContext


def run_demo(demo: DemoContext) -> list[str]:
    from emailengine.config import get_settings
    from emailengine.integrations.powermta.service import apply, queues
    from emailengine.standins.pmta import PmtaApiStandin, calls, write_fake_pmta

    api = PmtaApiStandin().start()  # daemon thread: lives until the demo process ends
    state_dir = demo.workdir / "fake-pmta"
    script = write_fake_pmta(demo.workdir / "bin", state_dir)
    os.environ.update({"EE_PMTA_CMD": str(script), "EE_PMTA_URL": api.url, "EE_PMTA_HOST": ""})
    get_settings.cache_clear()
    demo.settings = get_settings()
    demo.data["pmta_api"] = api
    managed = demo.settings.pmta_managed_config
    managed.parent.mkdir(parents=True, exist_ok=True)

    result = apply(demo.settings, demo.engine, demo.actor, reason="demo", health_delay=0.05)
    demo.say(f"rendered and applied {managed} ({result['outcome']}); fake pmta ran: {', '.join(calls(state_dir))}")
    demo.show(result["pools"], ["pool", "members", "excluded"], "PowerMTA pools (only ACTIVE/WARMING/RETIRING)")
    again = apply(demo.settings, demo.engine, demo.actor, reason="demo")
    demo.say(f"second apply: {again['outcome']} (no reload when nothing changed)")
    top = queues(demo.settings, 5)
    demo.show(top, ["queue", "rcpt", "mode", "paused"], "ee pmta queues (management API stand-in)")

    plan_lines = _quota_plan(demo)
    return [f"managed PowerMTA config applied via fake pmta ({len(result['pools'])} pools), unchanged on re-apply",
            f"{len(top)} queues read from the management API stand-in", *plan_lines]


def _quota_plan(demo: DemoContext) -> list[str]:
    """sync-quotas dry run against simulated MailWizz rows (a fresh MailWizz: all active, unlimited)."""
    from emailengine.integrations.mailwizz.quotas import CACHE_NOTE, ServerRow, plan_sync
    from emailengine.integrations.mailwizz.sync import load_inputs, plan_rows

    inputs = load_inputs(demo.engine)
    servers = {i.server_id: ServerRow(i.server_id, f"pmta {i.address}", "smtp-pmta", "active", 0, 0, None)
               for i in inputs}
    if inputs:  # show the fail-safe skip: one server carries MailWizz's own warmup plan
        last = max(servers)
        servers[last] = ServerRow(last, f"server {last}", "smtp-pmta", "active", 0, 0, 1)
    plan = plan_sync(inputs, servers, demo.settings.active_daily_quota, demo.settings.active_hourly_quota,
                     datetime.now(UTC), timedelta(hours=demo.settings.mailwizz_stale_hours))
    report = {"changes": plan.changes}
    demo.show(plan_rows(report), ["server", "ip", "state", "status", "hourly", "daily", "why"],
              "ee sync-quotas --dry-run (simulated MailWizz rows)")
    for skipped in plan.skipped:
        demo.say(f"skipped server {skipped['server_id']} ({skipped['ip']}): {skipped['reason']}")
    demo.say(f"note: {CACHE_NOTE}")
    return [f"sync-quotas dry run: {len(plan.changes)} delivery servers would change, {len(plan.skipped)} skipped"]
