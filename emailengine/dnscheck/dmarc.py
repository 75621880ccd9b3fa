"""DMARC (RFC 7489, np from RFC 9091): discovery, tag validation, policy strength, alignment and
external report-destination authorization. Pure over the Resolver protocol.

The organizational domain comes from the public suffix list bundled with the `publicsuffixlist`
package (no download at run time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from emailengine.dnscheck.findings import Finding, Problem, dns_failure, fold
from emailengine.dnscheck.resolver import DnsTempError, Resolver, txt_strings

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = ("v", "p", "sp", "np", "pct", "rua", "ruf", "adkim", "aspf", "fo", "ri", "rf", "psd", "t")
_DMARC = re.compile(r"^v\s*=\s*DMARC1\s*(;|$)", re.I)
_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?P<rest>[^!]+)(?:!(?P<size>\d+[kmgtKMGT]?))?$")


@lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """Return the organizational domain (PSL registrable domain) of domain, or domain itself."""
    name = domain.rstrip(".").lower()
    return _psl().privatesuffix(name) or name


def is_dmarc_record(text: str) -> bool:
    """Return whether a TXT string is a DMARC record (`v=DMARC1` first, then `;` or end)."""
    return bool(_DMARC.match(text))


@dataclass
class Policy:
    """A discovered and parsed DMARC record."""

    record: str
    location: str
    tags: dict[str, str]
    inherited: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def p(self) -> str:
        return self.tags.get("p", "").lower()

    def effective_policy(self) -> str:
        """Return the policy applied to the From domain: sp when inherited from the org domain."""
        if self.inherited and self.tags.get("sp", "").lower() in POLICIES:
            return self.tags["sp"].lower()
        return self.p


class DiscoveryError(Exception):
    """No usable policy: message says why (missing, several records)."""


def discover(resolver: Resolver, domain: str) -> Policy:
    """Find the DMARC record for From domain (RFC 7489 §6.6.3): `_dmarc.<domain>`, then the org domain.

    Raise DiscoveryError when no single record exists; DnsTempError when the DNS did not answer.
    """
    domain = domain.rstrip(".").lower()
    candidates = [domain]
    organizational = org_domain(domain)
    if organizational != domain:
        candidates.append(organizational)
    for location in candidates:
        records = [text for text in txt_strings(resolver.query(f"_dmarc.{location}", "TXT")) if is_dmarc_record(text)]
        if len(records) > 1:
            raise DiscoveryError(f"_dmarc.{location} has {len(records)} DMARC records; receivers ignore them all")
        if records:
            return Policy(records[0], location, {}, inherited=location != domain)
    where = " or its organizational domain " + organizational if organizational != domain else ""
    raise DiscoveryError(f"no DMARC record at _dmarc.{domain}{where}")


def parse_policy(policy: Policy) -> None:
    """Parse policy.record into policy.tags and append every tag problem to policy.problems."""
    fix = "correct the record (see `ee dns records` for a starter record)"
    seen: dict[str, str] = {}
    for part in policy.record.split(";"):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not equals:
            policy.problems.append(Problem("error", f"malformed tag {part.strip()!r}", fix))
            continue
        if name in seen:
            policy.problems.append(Problem("error", f"tag {name}= appears twice", fix))
            continue
        seen[name] = value
    policy.tags = seen
    _validate_tags(policy, fix)


def _validate_tags(policy: Policy, fix: str) -> None:
    tags, add = policy.tags, policy.problems.append
    if "p" not in tags:
        add(Problem("error", "the record has no p= tag (required by RFC 7489; receivers may ignore it)",
                    "add p=none (monitor) or p=quarantine/reject"))
    elif list(tags)[1:2] != ["p"]:
        add(Problem("warning", "p= is not the second tag; some receivers require it right after v=", fix))
    for tag in ("p", "sp", "np"):
        if tag in tags and tags[tag].lower() not in POLICIES:
            add(Problem("error", f"{tag}={tags[tag]} is not none, quarantine or reject", fix))
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            add(Problem("error", f"{tag}={tags[tag]} is not r or s", fix))
    if "pct" in tags:
        if not tags["pct"].isdigit() or int(tags["pct"]) > 100:
            add(Problem("error", f"pct={tags['pct']} is not an integer 0-100", fix))
        elif int(tags["pct"]) < 100:
            add(Problem("warning", f"pct={tags['pct']}: the policy applies to only {tags['pct']}% of failing mail",
                        "remove pct= (100 is the default)"))
    if "fo" in tags and not all(opt.strip() in ("0", "1", "d", "s") for opt in tags["fo"].split(":")):
        add(Problem("error", f"fo={tags['fo']} has options other than 0, 1, d, s", fix))
    if "ri" in tags and not tags["ri"].isdigit():
        add(Problem("error", f"ri={tags['ri']} is not a number of seconds", fix))
    for tag in ("rua", "ruf"):
        for uri in report_uris(tags.get(tag, "")):
            _validate_uri(tag, uri, add, fix)
    unknown = [tag for tag in tags if tag not in KNOWN_TAGS]
    if unknown:
        add(Problem("warning", f"unknown tags ignored: {', '.join(unknown)}", fix))


def report_uris(value: str) -> list[str]:
    """Return the comma-separated URIs of a rua/ruf value."""
    return [uri.strip() for uri in value.split(",") if uri.strip()]


def _validate_uri(tag: str, uri: str, add: Any, fix: str) -> None:
    match = _URI.match(uri)
    if not match:
        add(Problem("error", f"{tag} URI {uri!r} is malformed", fix))
        return
    if match.group("scheme").lower() != "mailto":
        add(Problem("warning", f"{tag} URI {uri!r} is not mailto:; most receivers only send to mailto:", fix))
    elif "@" not in match.group("rest") or match.group("rest").startswith("@"):
        add(Problem("error", f"{tag} address {uri!r} is not an e-mail address", fix))


def mailto_domains(policy: Policy) -> list[str]:
    """Return the domains of the mailto: report destinations (rua and ruf), in order, once each."""
    domains: list[str] = []
    for tag in ("rua", "ruf"):
        for uri in report_uris(policy.tags.get(tag, "")):
            match = _URI.match(uri)
            if match and match.group("scheme").lower() == "mailto" and "@" in match.group("rest"):
                domain = match.group("rest").rpartition("@")[2].lower().rstrip(".")
                if domain not in domains:
                    domains.append(domain)
    return domains


def check_dmarc(resolver: Resolver, domain: str) -> tuple[Finding, Policy | None]:
    """Check the DMARC policy for From domain: existence, tags, policy strength. Return (finding, policy)."""
    try:
        policy = discover(resolver, domain)
    except DnsTempError as error:
        return dns_failure(domain, "dmarc", error, "the DMARC record"), None
    except DiscoveryError as error:
        return Finding(domain, "dmarc", "error", f"{error}: Gmail, Yahoo and Microsoft require a DMARC policy "
                       "for bulk senders", f"publish at _dmarc.{domain} the record from `ee dns records {domain}`",
                       {}), None
    parse_policy(policy)
    problems = list(policy.problems)
    effective = policy.effective_policy()
    if effective == "none":
        problems.append(Problem("warning", "the policy is p=none (monitoring only): spoofed mail is delivered",
                                "after reviewing aggregate reports, move to p=quarantine, then p=reject"))
    sub = policy.tags.get("sp", "").lower()
    if not policy.inherited and sub in POLICIES and POLICIES.index(sub) < POLICIES.index(effective or "none"):
        problems.append(Problem("warning", f"sp={sub} is weaker than p={effective} for subdomains",
                                "remove sp= or set it at least as strict as p="))
    if "rua" not in policy.tags:
        problems.append(Problem("warning", "no rua= address: you get no aggregate reports (Yahoo strongly "
                                "recommends them)", f"add rua=mailto:dmarc-reports@{org_domain(domain)}"))
    where = f"inherited from {policy.location}" if policy.inherited else f"at _dmarc.{domain}"
    details = {"record": policy.record, "location": policy.location, "inherited": policy.inherited,
               "policy": effective, "tags": policy.tags}
    return fold(domain, "dmarc", problems, f"DMARC policy p={effective} published {where}", details), policy


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    """Return whether identifier's domain aligns with from_domain (strict: equal; relaxed: same org domain)."""
    identifier, from_domain = identifier.rstrip(".").lower(), from_domain.rstrip(".").lower()
    if mode == "s":
        return identifier == from_domain
    return org_domain(identifier) == org_domain(from_domain)


def check_alignment(domain: str, policy: Policy | None, spf_domain: str, dkim_domain: str | None) -> Finding:
    """Check that the From domain aligns with the return-path (SPF) and DKIM d= domains PowerMTA uses."""
    tags = policy.tags if policy else {}
    aspf, adkim = tags.get("aspf", "r").lower(), tags.get("adkim", "r").lower()
    spf_ok = aligned(spf_domain, domain, aspf)
    dkim_ok = dkim_domain is not None and aligned(dkim_domain, domain, adkim)
    details = {"spf_domain": spf_domain, "aspf": aspf, "spf_aligned": spf_ok, "dkim_domain": dkim_domain,
               "adkim": adkim, "dkim_aligned": dkim_ok}
    problems: list[Problem] = []
    if not spf_ok and not dkim_ok:
        problems.append(Problem("error", f"neither the return-path domain {spf_domain} nor the DKIM domain "
                                f"{dkim_domain or '(none)'} aligns with From {domain}: DMARC fails",
                                f"use a return-path under {org_domain(domain)} and sign with d={domain}"))
    elif not spf_ok:
        problems.append(Problem("warning", f"return-path {spf_domain} does not align with {domain} (aspf={aspf}); "
                                "DMARC rests on DKIM alone", f"use a return-path domain under {org_domain(domain)}"))
    elif not dkim_ok:
        problems.append(Problem("warning", f"DKIM domain {dkim_domain or '(none)'} does not align with {domain} "
                                f"(adkim={adkim}); DMARC rests on SPF alone, which breaks on forwarding",
                                f"sign with d={domain}"))
    return fold(domain, "dmarc_alignment", problems,
                f"From {domain} aligns with return-path {spf_domain} and DKIM d={dkim_domain}", details)


def check_report_destinations(resolver: Resolver, domain: str, policy: Policy | None) -> Finding:
    """Check that external rua/ruf destinations authorize reports (RFC 7489 §7.1)."""
    if policy is None or not mailto_domains(policy):
        return Finding(domain, "dmarc_reports", "ok" if policy else "warning",
                       "no DMARC report destinations to authorize" if policy else "no DMARC policy, no reports",
                       "" if policy else f"publish a DMARC record with rua= for {domain}")
    problems: list[Problem] = []
    checked: dict[str, str] = {}
    source = policy.location
    for destination in mailto_domains(policy):
        if org_domain(destination) == org_domain(source):
            checked[destination] = "same organization"
            continue
        name = f"{source}._report._dmarc.{destination}"
        try:
            records = [t for t in txt_strings(resolver.query(name, "TXT")) if is_dmarc_record(t)]
        except DnsTempError as error:
            problems.append(Problem("warning", f"could not check {name}: DNS failure ({error})", "run again"))
            checked[destination] = "unknown"
            continue
        checked[destination] = "authorized" if records else "not authorized"
        if not records:
            problems.append(Problem("warning", f"{destination} does not authorize DMARC reports for {source} "
                                    f"(no v=DMARC1 at {name}): receivers will not send them",
                                    f"ask {destination} to publish \"v=DMARC1\" at {name}"))
    return fold(domain, "dmarc_reports", problems, "every external DMARC report destination accepts reports",
                {"destinations": checked})
