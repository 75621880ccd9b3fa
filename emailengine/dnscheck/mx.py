"""MX (or A fallback) of the return-path domain, and MTA-STS, TLS-RPT and BIMI as information.
Pure over a Resolver.
"""

from __future__ import annotations

from emailengine.dnscheck.findings import Finding, Problem, dns_failure, fold
from emailengine.dnscheck.resolver import DnsTempError, Resolver, txt_strings


def check_mx(resolver: Resolver, domain: str) -> Finding:
    """Check that domain (a return-path domain) accepts mail: bounces and feedback reports need it."""
    try:
        answer = resolver.query(domain, "MX")
        hosts = sorted(answer.records)
        if not hosts:
            return _implicit_mx(resolver, domain)
        if any(host == "" for _, host in hosts):
            return Finding(domain, "mx", "error", f"{domain} publishes a null MX (RFC 7505): receivers reject mail "
                           "with this return-path (5.7.27) and bounces are lost", f"publish a real MX for {domain}",
                           {"mx": hosts})
        problems = []
        reachable = []
        for preference, host in hosts:
            if resolver.query(host, "A").records or resolver.query(host, "AAAA").records:
                reachable.append(host)
            else:
                problems.append(Problem("warning", f"MX host {host} (preference {preference}) has no address",
                                        f"publish an A record for {host} or remove the MX"))
    except DnsTempError as error:
        return dns_failure(domain, "mx", error, f"the MX of {domain}")
    if not reachable:
        return Finding(domain, "mx", "error", f"no MX host of {domain} has an address: bounces cannot be "
                       "delivered", "publish A records for the MX hosts", {"mx": hosts})
    return fold(domain, "mx", problems, f"{domain} receives mail at {', '.join(h for _, h in hosts)}",
                {"mx": hosts})


def _implicit_mx(resolver: Resolver, domain: str) -> Finding:
    addresses = resolver.query(domain, "A").records or resolver.query(domain, "AAAA").records
    if addresses:
        return Finding(domain, "mx", "warning", f"{domain} has no MX; mail goes to its A/AAAA record "
                       "(implicit MX, RFC 5321 §5.1)", f"publish an explicit MX for {domain}",
                       {"mx": [], "addresses": list(addresses)})
    return Finding(domain, "mx", "error", f"{domain} has neither MX nor A/AAAA: bounces and complaints to the "
                   "return-path are lost, and receivers may reject the sender", f"publish an MX for {domain}",
                   {"mx": []})


_INFO = {
    "mta_sts": ("_mta-sts.{d}", "v=STSv1", "MTA-STS"),
    "tls_rpt": ("_smtp._tls.{d}", "v=TLSRPTv1", "TLS-RPT"),
    "bimi": ("default._bimi.{d}", "v=BIMI1", "BIMI"),
}


def check_info(resolver: Resolver, domain: str, check: str) -> Finding:
    """Report whether the optional MTA-STS, TLS-RPT or BIMI record is present (ok either way).

    Absence is fine (they are optional); several records or a DNS failure are warnings.
    """
    template, prefix, title = _INFO[check]
    name = template.format(d=domain)
    try:
        records = [t for t in txt_strings(resolver.query(name, "TXT")) if t.lower().startswith(prefix.lower())]
    except DnsTempError as error:
        return Finding(domain, check, "warning", f"{title} could not be checked: DNS failure ({error})", "run again",
                       {"dns_failure": str(error)})
    if len(records) > 1:
        return Finding(domain, check, "warning", f"{len(records)} {title} records at {name}; one is expected",
                       "delete the extra records", {"records": records})
    if records:
        return Finding(domain, check, "ok", f"{title} is published: {records[0][:80]}", "", {"records": records})
    return Finding(domain, check, "ok", f"{title} is not published (optional)", "", {"records": [], "info": True})
