"""`ee dns validate` and `ee dns records`: load targets from the inventory, run the pure checks
concurrently, store the findings in dns_checks, alert on ok → error.

Which IPs send for a domain: every inventory IP in a sending state (ACTIVE, WARMING, RETIRING)
sends for every domain — PowerMTA pools are not tied to domains in the inventory.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.dnscheck.findings import Finding
from emailengine.dnscheck.report import DomainTarget, IpTarget

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings
    from emailengine.dnscheck.resolver import Resolver

JOB_NAME = "dns-validate"
MAX_WORKERS = 16
MAX_KEY_BYTES = 64 * 1024


@dataclass
class Report:
    """A validation run: every finding, the readiness verdict per domain, the alerts raised."""

    findings: list[Finding] = field(default_factory=list)
    readiness: list[dict[str, Any]] = field(default_factory=list)
    regressions: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == "error"]

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "readiness": self.readiness,
                "regressions": [f"{f.subject} {f.check}" for f in self.regressions],
                "counts": {s: sum(1 for f in self.findings if f.status == s) for s in ("ok", "warning", "error")}}


def read_key(path: str | None) -> tuple[bytes | None, str | None]:
    """Return (content, None) of a DKIM key file, (None, reason) when unreadable, (None, None) when unset."""
    if not path:
        return None, None
    try:
        file = Path(path)
        if file.stat().st_size > MAX_KEY_BYTES:
            return None, f"{path} is larger than {MAX_KEY_BYTES} bytes"
        return file.read_bytes(), None
    except OSError as error:
        return None, f"{path}: {error.strerror or error}"


def load_targets(session: Session, names: list[str] | None = None,
                 all_ips: bool = False) -> tuple[list[DomainTarget], list[IpTarget]]:
    """Return the domains to validate (all, or the named ones) and the IPs in sending states
    (every inventory IP with all_ips).

    Raise NotFound for a named domain that is not in the inventory.
    """
    from sqlalchemy import select

    from emailengine.db.models import Domain, Ip
    from emailengine.inventory import get_domain
    from emailengine.lifecycle import SENDING_STATES

    rows = [get_domain(session, name) for name in names] if names else list(
        session.scalars(select(Domain).order_by(Domain.name)))
    domains = []
    for row in rows:
        pem, error = read_key(row.dkim_key_path)
        domains.append(DomainTarget(row.name, row.dkim_selector, pem, error, row.return_path_domain,
                                    row.dkim_key_path))
    query = select(Ip).order_by(Ip.address)
    if not all_ips:
        query = query.where(Ip.state.in_([state.value for state in SENDING_STATES]))
    ips = [IpTarget(ip.address, ip.hostname) for ip in session.scalars(query)]
    return domains, ips


def run_checks(resolver: Resolver, domains: list[DomainTarget], ips: list[IpTarget], now: int,
               workers: int = MAX_WORKERS) -> Report:
    """Run every domain and IP check concurrently; return the Report with readiness per domain."""
    from emailengine.dnscheck.report import check_domain, check_ip, readiness, readiness_finding

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(domains) + len(ips)))) as pool:
        domain_jobs = [pool.submit(_guarded, domain.name, check_domain, resolver, domain, ips, now)
                       for domain in domains]
        ip_jobs = [pool.submit(_guarded, ip.address, check_ip, resolver, ip) for ip in ips]
        domain_results = [job.result() for job in domain_jobs]
        ip_findings = [finding for job in ip_jobs for finding in job.result()]
    report = Report()
    for domain, findings in zip(domains, domain_results, strict=True):
        verdict = readiness(domain.name, findings, ip_findings)
        report.readiness.append(verdict)
        report.findings += findings + [readiness_finding(verdict)]
    report.findings += ip_findings
    return report


def _guarded(subject: str, check: Any, *args: Any) -> list[Finding]:
    """Run one subject's checks; a crash becomes an error finding so the other subjects still run."""
    from emailengine.logs import logger

    try:
        return check(*args)
    except Exception as error:  # noqa: BLE001 - one broken subject must not stop the run
        logger.exception("DNS checks of %s crashed", subject)
        return [Finding(subject, "internal", "error", f"the checks crashed: {type(error).__name__}: {error}",
                        "report this as a bug; the other checks ran")]


def previous_statuses(session: Session) -> dict[tuple[str, str], str]:
    """Return the latest stored status of every (subject, check)."""
    from sqlalchemy import func, select

    from emailengine.db.models import DnsCheck

    latest = select(func.max(DnsCheck.id)).group_by(DnsCheck.subject, DnsCheck.check)
    rows = session.execute(select(DnsCheck.subject, DnsCheck.check, DnsCheck.status).where(DnsCheck.id.in_(latest)))
    return {(subject, check): status for subject, check, status in rows}


def store(session: Session, findings: list[Finding], run_at: datetime) -> list[Finding]:
    """Insert findings as dns_checks rows; return those that went from ok to error."""
    from emailengine.db.models import DnsCheck

    before = previous_statuses(session)
    regressions = []
    for finding in findings:
        if finding.status == "error" and before.get((finding.subject, finding.check)) == "ok":
            regressions.append(finding)
        session.add(DnsCheck(run_at=run_at, subject=finding.subject[:253], check=finding.check[:32],
                             status=finding.status, message=finding.message, fix=finding.fix,
                             details=_json_safe(finding.details)))
    session.flush()
    return regressions


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def alert_regressions(regressions: list[Finding]) -> None:
    """Tell a human about every check that went from ok to error."""
    from emailengine.alerts import send_alert

    for finding in regressions:
        is_ip = ":" in finding.subject or finding.subject.replace(".", "").isdigit()
        send_alert(f"dns:{finding.subject}:{finding.check}", f"DNS check {finding.check} broke for {finding.subject}",
                   finding.message, severity="error", ip=finding.subject if is_ip else None,
                   domain=None if is_ip else finding.subject, action=finding.fix)


def validate(names: list[str] | None = None, settings: Settings | None = None, engine: Engine | None = None,
             resolver: Resolver | None = None) -> tuple[Any, Report]:
    """Run the dns-validate job: check, store, alert. Return (job context, report).

    Every error finding is a job problem, so the job (and `ee dns validate`) exits 1.
    """
    from sqlalchemy.orm import Session

    from emailengine.db.models import utcnow
    from emailengine.dnscheck.resolver import make_resolver
    from emailengine.jobs import run_job

    report = Report()
    with run_job(JOB_NAME, settings=settings, engine=engine) as ctx:
        with Session(ctx.engine) as session:
            domains, ips = load_targets(session, names)
        resolver = resolver or make_resolver(ctx.settings)
        started = time.monotonic()
        report = run_checks(resolver, domains, ips, now=int(time.time()))
        with Session(ctx.engine) as session, session.begin():
            report.regressions = store(session, report.findings, utcnow())
        alert_regressions(report.regressions)
        _metrics(ctx, report, time.monotonic() - started)
        for finding in report.errors:
            ctx.problem(f"{finding.subject} {finding.check}: {finding.message}")
    return ctx, report


def _metrics(ctx: Any, report: Report, seconds: float) -> None:
    from prometheus_client import Gauge

    checks = Gauge("ee_dns_checks", "DNS check results of the last run by status", ["status"], registry=ctx.registry)
    for status in ("ok", "warning", "error"):
        checks.labels(status).set(sum(1 for f in report.findings if f.status == status))
    ready = Gauge("ee_dns_domain_ready", "1 when the domain meets the bulk-sender DNS requirements", ["domain"],
                  registry=ctx.registry)
    for verdict in report.readiness:
        ready.labels(verdict["domain"]).set(1 if verdict["verdict"] == "ready" else 0)
    Gauge("ee_dns_validate_check_seconds", "time spent checking", registry=ctx.registry).set(seconds)
    ctx.summary.update({"domains": len(report.readiness), "findings": len(report.findings),
                        "errors": len(report.errors), "regressions": len(report.regressions)})


def records_for(name: str, settings: Settings | None = None, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Return the records to publish for inventory domain name (see records.render).

    Every inventory IP is covered, not only the sending ones: resting and standby IPs return to
    rotation, and their SPF/PTR must already be in place when they do.
    """
    from sqlalchemy.orm import Session

    from emailengine.db.engine import database_engine
    from emailengine.dnscheck import records

    with Session(engine or database_engine()) as session:
        domains, ips = load_targets(session, [name], all_ips=True)
    return records.render(domains[0], ips)


def spf_check(ip: str, domain: str, sender: str = "", helo: str = "", settings: Settings | None = None,
              resolver: Resolver | None = None) -> dict[str, Any]:
    """Evaluate SPF check_host() for one (ip, domain) with the configured resolver; raise UsageError on bad input."""
    import re

    from emailengine.dnscheck import spf
    from emailengine.dnscheck.resolver import make_resolver
    from emailengine.errors import UsageError

    try:
        spf.normalize_client_ip(ip)
    except ValueError:
        raise UsageError(f"invalid IP address {ip!r}") from None
    domain = domain.strip().rstrip(".").lower()
    # Underscores are fine here: SPF is often published at names like _spf.example.com.
    if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+", domain) or not spf.valid_domain(domain):
        raise UsageError(f"invalid domain name {domain!r}", "expected e.g. example.com")
    if sender and sender.count("@") > 1:
        raise UsageError(f"invalid sender address {sender!r}")
    resolver = resolver or make_resolver(settings)
    result = spf.check_host(resolver, ip, domain, sender=sender, helo=helo or domain, now=int(time.time()))
    return result.to_dict() | {"sender": sender or f"postmaster@{domain}", "helo": helo or domain}
