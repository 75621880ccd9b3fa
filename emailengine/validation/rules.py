"""Pure address rules: syntax (email-validator, no DNS), role and disposable flags, the verdict.

Verdicts, worst first:
  invalid     syntax wrong, domain does not exist, or has neither MX nor A/AAAA (or a null MX)
  suppressed  a hard bounce or complaint of ours: never mail it
  unknown     the DNS lookup failed (timeout/SERVFAIL): try again later
  risky       deliverable but a role account or a disposable domain (or a soft-bounce suppression)
  valid       none of the above
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

ROLE_ACCOUNTS: frozenset[str] = frozenset({
    "abuse", "admin", "administrator", "all", "billing", "careers", "contact", "customerservice",
    "devnull", "dns", "enquiries", "everyone", "feedback", "finance", "ftp", "hello", "help",
    "helpdesk", "hostmaster", "hr", "info", "inquiries", "it", "jobs", "legal", "list", "mail",
    "mailer-daemon", "marketing", "media", "news", "newsletter", "no-reply", "noc", "noreply",
    "null", "office", "orders", "postmaster", "press", "privacy", "recruitment", "root", "sales",
    "security", "service", "spam", "staff", "subscribe", "support", "sysadmin", "team",
    "unsubscribe", "usenet", "uucp", "webmaster", "www",
})

# DNS outcomes of a domain lookup (run.py produces them).
DNS_MX, DNS_A, DNS_NULL_MX, DNS_NONE, DNS_NXDOMAIN, DNS_ERROR = "mx", "a", "null-mx", "none", "nxdomain", "error"


@dataclass(frozen=True)
class Syntax:
    """The syntax check of one input: normalized address, its domain, or the error."""

    original: str
    ok: bool
    normalized: str = ""
    local: str = ""
    domain: str = ""
    error: str = ""


@dataclass
class Result:
    """The verdict for one address and why."""

    address: str
    verdict: str
    normalized: str = ""
    domain: str = ""
    reasons: list[str] = field(default_factory=list)
    role: bool = False
    disposable: bool = False
    suppressed: str = ""
    dns: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"address": self.address, "verdict": self.verdict, "normalized": self.normalized,
                "domain": self.domain, "reasons": self.reasons, "role": self.role,
                "disposable": self.disposable, "suppressed": self.suppressed or None, "dns": self.dns or None}


def check_syntax(text: str) -> Syntax:
    """Given one input line, return its syntax check (RFC 5321/6531 via email-validator, no DNS)."""
    from email_validator import EmailNotValidError, validate_email

    address = text.strip()
    if not address:
        return Syntax(text, False, error="empty")
    try:
        info = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        return Syntax(address, False, error=str(error))
    domain = info.ascii_domain.lower()
    return Syntax(address, True, f"{info.local_part}@{domain}", info.local_part, domain)


@lru_cache(maxsize=1)
def disposable_domains() -> frozenset[str]:
    """Return the bundled disposable-domain list."""
    text = resources.files("emailengine.validation").joinpath("disposable_domains.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_disposable(domain: str, listed: frozenset[str] | None = None) -> bool:
    """Return whether domain or one of its parents is a disposable-address domain."""
    listed = disposable_domains() if listed is None else listed
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in listed for i in range(len(labels) - 1))


def is_role(local: str) -> bool:
    """Return whether the local part is a role account (info@, postmaster@, no-reply+x@ ...)."""
    base = local.lower().split("+", 1)[0]
    return base in ROLE_ACCOUNTS or base.replace(".", "").replace("_", "-") in ROLE_ACCOUNTS


def verdict(syntax: Syntax, dns_outcome: str, suppression_cause: str = "") -> Result:
    """Given the syntax check, the domain's DNS outcome and our suppression cause, return the result."""
    if not syntax.ok:
        return Result(syntax.original, "invalid", reasons=[f"syntax: {syntax.error}"])
    result = Result(syntax.original, "valid", syntax.normalized, syntax.domain, dns=dns_outcome,
                    role=is_role(syntax.local), disposable=is_disposable(syntax.domain),
                    suppressed=suppression_cause)
    dns_problem = {DNS_NXDOMAIN: "domain does not exist", DNS_NONE: "domain has no MX or A record",
                   DNS_NULL_MX: "domain accepts no mail (null MX)"}.get(dns_outcome)
    if dns_problem:
        result.verdict = "invalid"
        result.reasons.append(dns_problem)
    elif suppression_cause in ("hard", "complaint"):
        result.verdict = "suppressed"
    elif dns_outcome == DNS_ERROR:
        result.verdict = "unknown"
        result.reasons.append("DNS lookup failed; try again later")
    if suppression_cause:
        result.reasons.append(f"suppressed by us ({suppression_cause})")
    if result.role:
        result.reasons.append("role account")
    if result.disposable:
        result.reasons.append("disposable domain")
    if result.verdict == "valid" and (result.role or result.disposable or suppression_cause):
        result.verdict = "risky"
    return result
