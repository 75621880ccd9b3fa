"""Every check for one domain or one sending IP, and the per-domain bulk-sender readiness verdict.

Pure over the Resolver protocol and plain targets (the key file content is read by run.py).
Readiness follows the reference note §3.5: the DNS-checkable part of the Gmail/Yahoo (Feb 2024)
and Microsoft Outlook.com (5 May 2025) bulk-sender requirements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emailengine.dnscheck import dkim, dmarc, mx, ptr, spf
from emailengine.dnscheck.findings import Finding, Problem, fold
from emailengine.dnscheck.resolver import Resolver


@dataclass(frozen=True)
class DomainTarget:
    """A sending (From) domain: its DKIM selector and key file content, its return-path domain."""

    name: str
    selector: str | None = None
    key_pem: bytes | None = None
    key_error: str | None = None
    return_path: str | None = None
    key_path: str | None = None

    @property
    def envelope(self) -> str:
        """The MAIL FROM domain SPF is evaluated for."""
        return self.return_path or self.name


@dataclass(frozen=True)
class IpTarget:
    """A sending IP and the HELO name its virtual MTA announces (ips.hostname)."""

    address: str
    hostname: str


# requirement → (sentence, the checks that must not be errors, scope)
REQUIREMENTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "spf": ("SPF passes for every sending IP", ("spf_pass",), "domain"),
    "dkim": ("DKIM key published, valid and matching", ("dkim",), "domain"),
    "dmarc": ("DMARC policy published (p=none at least)", ("dmarc",), "domain"),
    "alignment": ("From aligned with the SPF or DKIM domain", ("dmarc_alignment",), "domain"),
    "fcrdns": ("forward-confirmed reverse DNS on every sending IP", ("ptr", "fcrdns"), "ip"),
}
PROVIDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gmail": ("Gmail bulk sender (Feb 2024)", ("spf", "dkim", "dmarc", "alignment", "fcrdns")),
    "yahoo": ("Yahoo bulk sender (Feb 2024)", ("spf", "dkim", "dmarc", "alignment", "fcrdns")),
    "microsoft": ("Outlook.com high-volume sender (May 2025)", ("spf", "dkim", "dmarc", "alignment", "fcrdns")),
}
NOT_CHECKED = "not checked from DNS: TLS, one-click unsubscribe (RFC 8058), spam rate < 0.3 %, RFC 5322 format"


def check_domain(resolver: Resolver, target: DomainTarget, ips: list[IpTarget], now: int = 0) -> list[Finding]:
    """Run every domain-level check for target against the IPs that send for it."""
    findings = [spf_record_finding(resolver, target), spf_pass_finding(resolver, target, ips, now),
                dkim.check_dkim(resolver, target.name, target.selector, target.key_pem, target.key_error)]
    dmarc_finding, policy = dmarc.check_dmarc(resolver, target.name)
    findings += [dmarc_finding,
                 dmarc.check_alignment(target.name, policy, target.envelope, target.name if target.selector else None),
                 dmarc.check_report_destinations(resolver, target.name, policy),
                 mx.check_mx(resolver, target.envelope)]
    findings += [mx.check_info(resolver, target.name, check) for check in ("mta_sts", "tls_rpt", "bimi")]
    return findings


def check_ip(resolver: Resolver, ip: IpTarget) -> list[Finding]:
    """Run every per-IP check (PTR, FCrDNS, HELO, HELO SPF)."""
    return ptr.check_ip(resolver, ip.address, ip.hostname)


def spf_record_finding(resolver: Resolver, target: DomainTarget) -> Finding:
    """Judge the SPF record of the envelope domain: one record, syntax, lookups, policy."""
    domain = target.envelope
    analysis = spf.analyze(resolver, domain)
    details = analysis.to_dict()
    if analysis.dns_failure:
        return Finding(target.name, "spf", "error", f"the SPF record of {domain} could not be checked: DNS failure "
                       f"({analysis.dns_failure})", "check the nameservers; run again", details)
    fix = f"publish the SPF record from `ee dns records {target.name}` at {domain}"
    problems = [Problem("error", message, fix) for message in analysis.errors]
    problems += [Problem("warning", message, fix) for message in analysis.warnings]
    if analysis.lookups > spf.MAX_LOOKUPS:
        spenders = sorted(analysis.chain[1:], key=lambda entry: -entry["total"])[:3]
        blame = ", ".join(f"{entry['domain']} {entry['total']}" for entry in spenders)
        problems.append(Problem("error", f"lookups spent by includes: {blame}",
                                "replace includes by ip4:/ip6: terms (flattening) or drop unused senders"))
    qualifier = analysis.all_qualifier or "none"
    return fold(target.name, "spf", problems, f"SPF of {domain}: one record, {analysis.lookups}/{spf.MAX_LOOKUPS} "
                f"lookups, ends in {qualifier}all", details)


def spf_pass_finding(resolver: Resolver, target: DomainTarget, ips: list[IpTarget], now: int = 0) -> Finding:
    """Evaluate check_host() for every sending IP against the envelope domain; all must pass."""
    domain = target.envelope
    if not ips:
        return Finding(target.name, "spf_pass", "warning", "no IPs are in a sending state, so none was checked",
                       "add IPs with `ee ip add`", {"ips": {}})
    results = {ip.address: spf.check_host(resolver, ip.address, domain, sender=f"bounces@{domain}",
                                          helo=ip.hostname, now=now) for ip in ips}
    details: dict[str, Any] = {"domain": domain, "ips": {ip: r.result for ip, r in results.items()},
                               "trails": {ip: r.trail for ip, r in results.items() if r.result != "pass"}}
    failing = {ip: r for ip, r in results.items() if r.result != "pass"}
    if not failing:
        return Finding(target.name, "spf_pass", "ok", f"SPF of {domain} passes for all {len(ips)} sending IPs", "",
                       details)
    listed = ", ".join(f"{ip} {r.result}" for ip, r in sorted(failing.items()))
    if all(r.result == "temperror" for r in failing.values()):
        return Finding(target.name, "spf_pass", "error", f"SPF of {domain} could not be evaluated ({listed}): "
                       f"{next(iter(failing.values())).explanation}", "check the nameservers; run again",
                       details | {"dns_failure": True})
    return Finding(target.name, "spf_pass", "error", f"SPF of {domain} does not pass for {listed}: receivers "
                   "will reject or junk their mail", f"publish the SPF record from `ee dns records {target.name}`",
                   details)


def readiness(domain: str, findings: list[Finding], ip_findings: list[Finding]) -> dict[str, Any]:
    """Return the bulk-sender readiness verdict of domain from its and its IPs' findings.

    verdict: "ready" (every DNS-checkable requirement met), "not ready" (one is not),
    "unknown" (the only unmet requirements could not be checked because the DNS failed).
    """
    requirements: dict[str, dict[str, Any]] = {}
    for name, (sentence, checks, scope) in REQUIREMENTS.items():
        pool = findings if scope == "domain" else ip_findings
        failing = [f for f in pool if f.check in checks and f.status == "error"]
        unknown = bool(failing) and all(f.details.get("dns_failure") for f in failing)
        requirements[name] = {"requirement": sentence, "met": None if unknown else not failing,
                              "why": "; ".join(f"{f.subject}: {f.message}" for f in failing[:3])}
    providers = {}
    for provider, (title, needed) in PROVIDERS.items():
        missing = [name for name in needed if requirements[name]["met"] is not True]
        providers[provider] = {"title": title, "ready": not missing, "missing": missing}
    unmet = [r for r in requirements.values() if r["met"] is not True]
    verdict = "ready" if not unmet else "unknown" if all(r["met"] is None for r in unmet) else "not ready"
    return {"domain": domain, "verdict": verdict, "requirements": requirements, "providers": providers,
            "not_checked": NOT_CHECKED}


def readiness_finding(verdict: dict[str, Any]) -> Finding:
    """Return the readiness verdict as a Finding (error unless ready)."""
    domain = verdict["domain"]
    if verdict["verdict"] == "ready":
        return Finding(domain, "readiness", "ok", "meets the DNS requirements of Gmail, Yahoo and Microsoft for "
                       "bulk senders", "", verdict)
    unmet = [r["requirement"] for r in verdict["requirements"].values() if r["met"] is not True]
    state = "cannot be judged (DNS failure)" if verdict["verdict"] == "unknown" else "is not ready"
    return Finding(domain, "readiness", "error", f"bulk-sender readiness {state}: {'; '.join(unmet)}",
                   "fix the errors above, then run `ee dns validate` again", verdict)
