"""`ee demo`, operations part: metrics update into the demo's textfile dir, `ee health`, a Telegram
alert to a loopback Bot API stand-in, and `ee validate email` against a loopback DNS server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

DEMO_TOKEN = "4242:demo-token"  # noqa: S105 - the stand-in's fake token


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set EE_* variables for the block (settings are reloaded), then restore them."""
    from emailengine.config import get_settings

    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def run_demo(demo: DemoContext) -> list[str]:
    """Run the operations part on the demo database; return summary lines."""
    from emailengine.config import get_settings
    from emailengine.health import run_health
    from emailengine.metrics_update import run_metrics_update
    from emailengine.standins.dns_server import DNSTestServer
    from emailengine.standins.telegram import TelegramStandIn

    lines: list[str] = []
    with TelegramStandIn(token=DEMO_TOKEN) as bot, DNSTestServer(_dns_records()) as dns_server, _environment({
        "EE_TELEGRAM_BOT_TOKEN": DEMO_TOKEN, "EE_TELEGRAM_CHAT_ID": "-100200300",
        "EE_TELEGRAM_API_URL": bot.url, "EE_DNS_NAMESERVERS": dns_server.nameserver, "EE_DNS_TIMEOUT": "1",
    }):
        settings = get_settings()
        ctx = run_metrics_update(settings=settings, engine=demo.engine)
        prom = settings.metrics_textfile_dir / "ee_metrics_update.prom" if settings.metrics_textfile_dir else None
        demo.say(f"ee metrics update: {ctx.summary.get('samples')} samples → {prom}")
        lines.append(f"metrics: {ctx.summary.get('samples')} state samples written to {prom}")

        report = run_health(settings)
        demo.show([{"check": c.name, "state": c.status.name, "message": c.message} for c in report.checks],
                  ["check", "state", "message"], "ee health")
        demo.say(report.summary())
        lines.append(f"health: {report.status.name} (exit {int(report.status)})")

        from emailengine.alerts import send_alert

        send_alert("demo:listing:198.51.100.12", "198.51.100.12 listed on a critical blocklist (demo)",
                   "The demo pretends zen.spamhaus.org lists this IP.", severity="critical",
                   ip="198.51.100.12", action="ee blacklist check 198.51.100.12; request delisting")
        # The same key again within EE_ALERT_DEDUPE_MINUTES is deduplicated: no second message.
        send_alert("demo:listing:198.51.100.12", "198.51.100.12 listed again (demo)", "duplicate",
                   severity="critical", ip="198.51.100.12")
        demo.say(f"Telegram stand-in received {len(bot.messages)} message(s); first:\n{bot.messages[0]['text']}"
                 if bot.messages else "Telegram stand-in received nothing")
        lines.append(f"alerts: {len(bot.messages)} Telegram message(s) sent to the loopback stand-in (deduplicated)")

        lines.append(_validation(demo, settings))
    return lines


def _dns_records() -> list[tuple[str, str, str]]:
    return [("example.net", "MX", "10 mx.example.net."), ("mx.example.net", "A", "198.51.100.25"),
            ("example.org", "A", "198.51.100.26"), ("nomail.example", "MX", "0 .")]


def _validation(demo: DemoContext, settings: object) -> str:
    from emailengine.validation.run import validate_stream

    addresses = ["alice@example.net", "postmaster@example.org", "bob@mailinator.com", "carol@nomail.example",
                 "not-an-address"]
    results = list(validate_stream(addresses, settings, demo.engine))  # type: ignore[arg-type]
    demo.show([{"address": r.address, "verdict": r.verdict, "reasons": "; ".join(r.reasons)} for r in results],
              ["address", "verdict", "reasons"], "ee validate email")
    verdicts = ", ".join(f"{r.address}={r.verdict}" for r in results)
    return f"validation: {verdicts}"
