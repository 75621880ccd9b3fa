"""RFC 7208 SPF: the `check_host()` evaluator and a static record analysis, over an injected resolver.

Pure: no dnspython, no clock (the %{t} timestamp is a parameter). Every DNS question goes
through `Resolver.query`; `DnsTempError` from it becomes `temperror` exactly where the RFC says.

Decisions where RFC 7208 leaves room (documented in docs/dns.md):
* void lookups (§4.6.4) are counted per term query: the A/AAAA query of `a`, the MX query of
  `mx`, the A query of `exists`, the PTR query of `ptr`; address lookups of MX hosts are not.
  More than 2 → permerror (the RFC's suggested limit).
* a macro-expanded name that is not a valid DNS name (empty or >63-octet label) matches nothing
  and counts as a void lookup; for `include`/`redirect` it yields none → permerror.
* an IPv4-mapped IPv6 client address is evaluated as the IPv4 address.
* the `p` macro's PTR validation does not count toward the 10-term limit (it is not a term).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from emailengine.dnscheck.resolver import Answer, DnsTempError, Resolver, txt_strings

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_RECORDS = 10
MAX_PTR_NAMES = 10

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.\-]*)=(.*)$", re.S)
_MECHANISM = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9_.\-]*)(.*)$", re.S)
_DUAL_CIDR = re.compile(r"^(?::(?P<domain>.+?))?(?:/(?P<c4>0|[1-9][0-9]?))?(?://(?P<c6>0|[1-9][0-9]{0,2}))?$", re.S)
_MACRO = re.compile(r"%(?:\{(?P<letter>[A-Za-z])(?P<digits>[0-9]*)(?P<reverse>[rR]?)(?P<delims>[.\-+,/_=]*)\}|(?P<escape>[%_-]))")
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])$")
_MACRO_LETTERS = "slodiphvcrt"
_EXP_ONLY_LETTERS = "crt"


class SpfPermError(Exception):
    """The record or the evaluation is broken in a way that needs the domain owner to fix it."""


class SpfTempError(Exception):
    """A DNS failure interrupted evaluation; a later retry may succeed."""


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Mechanism:
    """One directive: qualifier, mechanism name, optional domain-spec / network and CIDR lengths."""

    qualifier: str
    name: str
    domain_spec: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128
    text: str = ""

    @property
    def result(self) -> str:
        return QUALIFIERS[self.qualifier]


@dataclass
class Record:
    """A parsed SPF record: mechanisms in order, the redirect and exp modifiers, unknown modifiers."""

    text: str
    mechanisms: list[Mechanism] = field(default_factory=list)
    redirect: str | None = None
    exp: str | None = None
    unknown_modifiers: list[str] = field(default_factory=list)

    @property
    def has_all(self) -> bool:
        return any(mechanism.name == "all" for mechanism in self.mechanisms)


def is_spf_record(text: str) -> bool:
    """Return whether a TXT string is an SPF version 1 record (RFC 7208 §4.5): `v=spf1` then SP or end."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


def parse_record(text: str) -> Record:
    """Given an SPF record text, return the parsed Record; raise SpfPermError on any syntax error."""
    if not is_spf_record(text):
        raise SpfPermError(f"not an SPF record: {text[:40]!r}")
    record = Record(text)
    for term in text[6:].split(" "):
        if term:
            _parse_term(record, term)
    return record


def _parse_term(record: Record, term: str) -> None:
    modifier = _MODIFIER.match(term)
    if modifier:
        name, value = modifier.group(1).lower(), modifier.group(2)
        if name in ("redirect", "exp"):
            if getattr(record, name) is not None:
                raise SpfPermError(f"the {name}= modifier appears more than once")
            check_domain_spec(value)
            setattr(record, name, value)
        else:
            check_macro_string(value)
            record.unknown_modifiers.append(term)
        return
    match = _MECHANISM.match(term)
    if not match:
        raise SpfPermError(f"invalid term {term!r}")
    qualifier, name, rest = match.group(1) or "+", match.group(2).lower(), match.group(3)
    if name not in MECHANISMS:
        raise SpfPermError(f"unknown mechanism {term!r}")
    record.mechanisms.append(_parse_mechanism(qualifier, name, rest, term))


def _parse_mechanism(qualifier: str, name: str, rest: str, term: str) -> Mechanism:
    if name == "all":
        if rest:
            raise SpfPermError(f"invalid term {term!r}")
        return Mechanism(qualifier, name, text=term)
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) < 2:
            raise SpfPermError(f"{name} needs a domain: {term!r}")
        check_domain_spec(rest[1:])
        return Mechanism(qualifier, name, rest[1:], text=term)
    if name == "ptr":
        spec = None
        if rest:
            if not rest.startswith(":") or len(rest) < 2:
                raise SpfPermError(f"invalid term {term!r}")
            spec = rest[1:]
            check_domain_spec(spec)
        return Mechanism(qualifier, name, spec, text=term)
    if name in ("a", "mx"):
        cidr = _DUAL_CIDR.match(rest)
        if not cidr:
            raise SpfPermError(f"invalid term {term!r}")
        spec = cidr.group("domain")
        if spec is not None:
            check_domain_spec(spec)
        cidr4 = int(cidr.group("c4")) if cidr.group("c4") else 32
        cidr6 = int(cidr.group("c6")) if cidr.group("c6") else 128
        if cidr4 > 32 or cidr6 > 128:
            raise SpfPermError(f"CIDR length out of range in {term!r}")
        return Mechanism(qualifier, name, spec, cidr4=cidr4, cidr6=cidr6, text=term)
    return _parse_ip_mechanism(qualifier, name, rest, term)


def _parse_ip_mechanism(qualifier: str, name: str, rest: str, term: str) -> Mechanism:
    if not rest.startswith(":"):
        raise SpfPermError(f"{name} needs an address: {term!r}")
    address, slash, length = rest[1:].partition("/")
    limit = 32 if name == "ip4" else 128
    if slash and not re.fullmatch(r"0|[1-9][0-9]{0,2}", length):
        raise SpfPermError(f"invalid CIDR length in {term!r}")
    prefix = int(length) if slash else limit
    if prefix > limit:
        raise SpfPermError(f"CIDR length out of range in {term!r}")
    try:
        parsed = ipaddress.IPv4Address(address) if name == "ip4" else ipaddress.IPv6Address(address)
    except ValueError:
        raise SpfPermError(f"invalid address in {term!r}") from None
    network = ipaddress.ip_network(f"{parsed}/{prefix}", strict=False)
    return Mechanism(qualifier, name, network=network, text=term)


def check_macro_string(text: str, exp: bool = False) -> None:
    """Raise SpfPermError unless text is a valid macro-string (RFC 7208 §7.1)."""
    position = 0
    while True:
        index = text.find("%", position)
        if index < 0:
            break
        match = _MACRO.match(text, index)
        if not match:
            raise SpfPermError(f"invalid macro in {text!r}")
        letter = (match.group("letter") or "").lower()
        if match.group("letter") and letter not in _MACRO_LETTERS:
            raise SpfPermError(f"unknown macro letter %{{{match.group('letter')}}} in {text!r}")
        if letter and letter in _EXP_ONLY_LETTERS and not exp:
            raise SpfPermError(f"macro %{{{letter}}} is only allowed in explanations")
        if match.group("digits") and int(match.group("digits")) == 0:
            raise SpfPermError(f"macro digit transformer must be non-zero in {text!r}")
        position = match.end()
    if any(ord(char) < 0x21 or ord(char) > 0x7E for char in text) and not exp:
        raise SpfPermError(f"invalid character in {text!r}")


def check_domain_spec(spec: str) -> None:
    """Raise SpfPermError unless spec is a domain-spec: a macro-string ending in a toplabel or macro."""
    check_macro_string(spec)
    body = spec[:-1] if spec.endswith(".") else spec
    if _ends_with_macro(body):
        return
    labels = body.split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        raise SpfPermError(f"invalid domain {spec!r}")


def _ends_with_macro(text: str) -> bool:
    if text.endswith(("%%", "%_", "%-")):
        return True
    if text.endswith("}"):
        start = text.rfind("%{")
        return start >= 0 and _MACRO.fullmatch(text[start:]) is not None
    return False


# ---------------------------------------------------------------- evaluation


@dataclass
class SpfResult:
    """The outcome of check_host(): result, explanation, matched term and the lookup trail."""

    result: str
    explanation: str
    domain: str
    ip: str
    mechanism: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    trail: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result, "explanation": self.explanation, "domain": self.domain, "ip": self.ip,
            "mechanism": self.mechanism, "lookups": self.lookups, "void_lookups": self.void_lookups,
            "trail": self.trail,
        }


@dataclass
class _Context:
    resolver: Resolver
    ip: IpAddress
    sender: str
    helo: str
    receiver: str
    now: int
    lookups: int = 0
    voids: int = 0
    trail: list[str] = field(default_factory=list)

    @property
    def local_part(self) -> str:
        return self.sender.rpartition("@")[0]

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    def note(self, depth: int, text: str) -> None:
        self.trail.append("  " * depth + text)

    def count_lookup(self, term: str, depth: int) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            self.note(depth, f"{term}: lookup {self.lookups} exceeds the limit of {MAX_LOOKUPS}")
            raise SpfPermError(f"more than {MAX_LOOKUPS} DNS-querying terms (RFC 7208 §4.6.4), at {term}")

    def count_void(self, term: str, depth: int) -> None:
        self.voids += 1
        self.note(depth, f"{term}: void lookup {self.voids}")
        if self.voids > MAX_VOID_LOOKUPS:
            raise SpfPermError(f"more than {MAX_VOID_LOOKUPS} void lookups (RFC 7208 §4.6.4), at {term}")

    def query(self, name: str, rdtype: str) -> Answer:
        try:
            return self.resolver.query(name, rdtype)
        except DnsTempError as error:
            raise SpfTempError(f"DNS failure: {error}") from None


def normalize_client_ip(text: str) -> IpAddress:
    """Return the client address, an IPv4-mapped IPv6 address as IPv4; raise ValueError if invalid."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def check_host(resolver: Resolver, ip: str, domain: str, sender: str = "", helo: str = "",
               receiver: str = "unknown", now: int = 0) -> SpfResult:
    """Evaluate SPF for (ip, domain, sender) per RFC 7208 §4 and return the SpfResult.

    sender: the MAIL FROM address (`postmaster@<domain>` when empty, `postmaster@` prepended to a
    bare domain); helo: the HELO/EHLO name; receiver and now feed the %{r} and %{t} macros.
    Raise ValueError if ip is not an IP address.
    """
    address = normalize_client_ip(ip)
    domain = domain.rstrip(".").lower()
    if not sender:
        sender = f"postmaster@{domain}"
    elif "@" not in sender:
        sender = f"postmaster@{sender}"
    elif sender.startswith("@"):
        sender = f"postmaster{sender}"
    context = _Context(resolver, address, sender, helo or domain, receiver, now)
    try:
        result, explanation, mechanism = _check(context, domain, 0)
    except SpfPermError as error:
        result, explanation, mechanism = "permerror", str(error), None
    except SpfTempError as error:
        result, explanation, mechanism = "temperror", str(error), None
    context.note(0, f"result: {result}")
    return SpfResult(result, explanation, domain, str(address), mechanism, context.lookups, context.voids,
                     context.trail)


def _check(context: _Context, domain: str, depth: int) -> tuple[str, str, str | None]:
    """Return (result, explanation, matched term) for domain; raise SpfPermError/SpfTempError."""
    if not valid_domain(domain):
        context.note(depth, f"{domain!r} is not a valid multi-label domain name: none")
        return "none", f"{domain!r} is not a valid domain name", None
    answer = context.query(domain, "TXT")
    if answer.nxdomain:
        context.note(depth, f"TXT {domain}: NXDOMAIN")
        return "none", f"{domain} does not exist", None
    records = [text for text in txt_strings(answer) if is_spf_record(text)]
    if not records:
        context.note(depth, f"TXT {domain}: no SPF record")
        return "none", f"{domain} publishes no SPF record", None
    if len(records) > 1:
        context.note(depth, f"TXT {domain}: {len(records)} SPF records")
        raise SpfPermError(f"{domain} publishes {len(records)} SPF records; exactly one is allowed")
    context.note(depth, f"TXT {domain}: {records[0]}")
    record = parse_record(records[0])
    for mechanism in record.mechanisms:
        if _matches(context, mechanism, domain, depth + 1):
            context.note(depth + 1, f"{mechanism.text}: match → {mechanism.result}")
            explanation = _explain(context, record, domain, mechanism.result, depth)
            return mechanism.result, explanation, mechanism.text
    if record.redirect is not None:
        return _redirect(context, record.redirect, domain, depth)
    context.note(depth + 1, "no term matched → neutral")
    return "neutral", f"no term of the SPF record of {domain} matched {context.ip} (default ?all)", None


def _redirect(context: _Context, spec: str, domain: str, depth: int) -> tuple[str, str, str | None]:
    context.count_lookup(f"redirect={spec}", depth + 1)
    target = expand(spec, context, domain)
    context.note(depth + 1, f"redirect={target}")
    result, explanation, mechanism = _check(context, target, depth + 1)
    if result == "none":
        raise SpfPermError(f"redirect target {target} has no SPF record")
    return result, explanation, mechanism


def _explain(context: _Context, record: Record, domain: str, result: str, depth: int) -> str:
    """Return the explanation for a match: the exp= text for fail (RFC 7208 §6.2), else a sentence."""
    ip = context.ip
    if result == "pass":
        return f"{domain} authorizes {ip}"
    default = f"{domain} does not designate {ip} as a permitted sender ({result})"
    if result != "fail" or record.exp is None:
        return default
    try:
        target = expand(record.exp, context, domain)
        answer = context.resolver.query(target, "TXT")
    except (SpfPermError, DnsTempError):
        return default
    texts = txt_strings(answer)
    if len(texts) != 1:
        return default
    try:
        check_macro_string(texts[0], exp=True)
        text = expand(texts[0], context, domain, exp=True)
    except SpfPermError:
        return default
    context.note(depth + 1, f"exp={target}: {text}")
    return text


def _matches(context: _Context, mechanism: Mechanism, domain: str, depth: int) -> bool:
    name = mechanism.name
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        return mechanism.network is not None and context.ip.version == mechanism.network.version \
            and context.ip in mechanism.network
    context.count_lookup(mechanism.text, depth)
    target = expand(mechanism.domain_spec, context, domain) if mechanism.domain_spec else domain
    if name == "include":
        return _include(context, mechanism, target, depth)
    if not valid_domain(target, multi_label=False):
        context.note(depth, f"{mechanism.text}: {target!r} is not a valid name, no match")
        context.count_void(mechanism.text, depth)
        return False
    if name == "a":
        return _match_a(context, mechanism, target, depth)
    if name == "mx":
        return _match_mx(context, mechanism, target, depth)
    if name == "ptr":
        return _match_ptr(context, mechanism, target, depth)
    return _match_exists(context, mechanism, target, depth)


def _include(context: _Context, mechanism: Mechanism, target: str, depth: int) -> bool:
    context.note(depth, f"{mechanism.text} → check_host({target})")
    result, _, _ = _check(context, target, depth + 1)
    if result == "none":
        raise SpfPermError(f"include target {target} has no SPF record")
    return result == "pass"


def _addresses(context: _Context, name: str) -> Answer:
    return context.query(name, "A" if context.ip.version == 4 else "AAAA")


def _in_any(context: _Context, addresses: tuple[Any, ...], mechanism: Mechanism) -> bool:
    prefix = mechanism.cidr4 if context.ip.version == 4 else mechanism.cidr6
    for text in addresses:
        try:
            network = ipaddress.ip_network(f"{text}/{prefix}", strict=False)
        except ValueError:
            continue
        if network.version == context.ip.version and context.ip in network:
            return True
    return False


def _match_a(context: _Context, mechanism: Mechanism, target: str, depth: int) -> bool:
    answer = _addresses(context, target)
    context.note(depth, f"{mechanism.text}: {answer.rdtype} {target} → {', '.join(answer.records) or 'none'}")
    if answer.void:
        context.count_void(mechanism.text, depth)
    return _in_any(context, answer.records, mechanism)


def _match_mx(context: _Context, mechanism: Mechanism, target: str, depth: int) -> bool:
    answer = context.query(target, "MX")
    hosts = [host for _, host in sorted(answer.records)]
    context.note(depth, f"{mechanism.text}: MX {target} → {', '.join(h or '.' for h in hosts) or 'none'}")
    if answer.void:
        context.count_void(mechanism.text, depth)
        return False
    if len(hosts) > MAX_MX_RECORDS:
        raise SpfPermError(f"{target} has {len(hosts)} MX records; the mx mechanism allows {MAX_MX_RECORDS}")
    for host in hosts:
        if not host:
            continue  # null MX (RFC 7505): no host to compare
        if _in_any(context, _addresses(context, host).records, mechanism):
            return True
    return False


def _match_ptr(context: _Context, mechanism: Mechanism, target: str, depth: int) -> bool:
    names = validated_names(context, target, term=mechanism.text)
    context.note(depth, f"{mechanism.text}: validated names {', '.join(names) or 'none'}")
    target = target.lower()
    return any(name == target or name.endswith("." + target) for name in names)


def validated_names(context: _Context, target: str | None = None, term: str | None = None) -> list[str]:
    """Return the PTR names of the client IP that resolve back to it (RFC 7208 §5.5).

    DNS errors make the PTR query match nothing and skip a name whose address lookup fails,
    as §5.5 requires. Names equal to or under target come first.
    """
    try:
        answer = context.resolver.query(reverse_name(context.ip), "PTR")
    except DnsTempError:
        return []
    if answer.void and term is not None:
        context.count_void(term, 0)
    names = list(answer.records)[:MAX_PTR_NAMES]
    if target:
        names.sort(key=lambda name: not (name == target or name.endswith("." + target)))
    validated = []
    for name in names:
        try:
            addresses = _addresses(context, name).records
        except SpfTempError:
            continue
        if any(_same_ip(text, context.ip) for text in addresses):
            validated.append(name)
    return validated


def _same_ip(text: str, ip: IpAddress) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


def _match_exists(context: _Context, mechanism: Mechanism, target: str, depth: int) -> bool:
    answer = context.query(target, "A")  # always A, even for IPv6 clients (RFC 7208 §5.7)
    context.note(depth, f"{mechanism.text}: A {target} → {', '.join(answer.records) or 'none'}")
    if answer.void:
        context.count_void(mechanism.text, depth)
    return not answer.void


# ---------------------------------------------------------------- macros


def reverse_name(ip: IpAddress) -> str:
    """Return the in-addr.arpa / ip6.arpa name of ip."""
    return ip.reverse_pointer


def _macro_value(letter: str, context: _Context, domain: str) -> str:
    ip = context.ip
    if letter == "s":
        return context.sender
    if letter == "l":
        return context.local_part or "postmaster"
    if letter == "o":
        return context.sender_domain
    if letter == "d":
        return domain
    if letter == "i":
        return str(ip) if ip.version == 4 else ".".join(ip.exploded.replace(":", ""))
    if letter == "p":
        names = validated_names(context, domain)
        return names[0] if names else "unknown"
    if letter == "v":
        return "in-addr" if ip.version == 4 else "ip6"
    if letter == "h":
        return context.helo
    if letter == "c":
        return str(ip)
    if letter == "r":
        return context.receiver or "unknown"
    return str(context.now)  # "t"


def expand(text: str, context: _Context, domain: str, exp: bool = False) -> str:
    """Expand the macros of text (RFC 7208 §7); domain names are cut to 253 octets from the left."""
    check_macro_string(text, exp=exp)

    def replace(match: re.Match[str]) -> str:
        escape = match.group("escape")
        if escape:
            return {"%": "%", "_": " ", "-": "%20"}[escape]
        raw_letter = match.group("letter")
        value = _macro_value(raw_letter.lower(), context, domain)
        delimiters = match.group("delims") or "."
        parts = re.split("[" + re.escape(delimiters) + "]", value)
        if match.group("reverse"):
            parts.reverse()
        if match.group("digits"):
            parts = parts[-int(match.group("digits")):]
        result = ".".join(parts)
        return quote(result, safe="-._~") if raw_letter.isupper() else result

    expanded = _MACRO.sub(replace, text)
    if exp:
        return expanded
    return _truncate(expanded)


def _truncate(name: str) -> str:
    """Drop leftmost labels until the name fits 253 characters (RFC 7208 §7.3)."""
    name = name.rstrip(".")
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


def valid_domain(name: str, multi_label: bool = True) -> bool:
    """Return whether name is a syntactically usable DNS name (labels 1-63 octets, ≤253 total)."""
    name = name.rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        return False
    return len(labels) >= 2 or not multi_label


# ---------------------------------------------------------------- static analysis (for validation)


@dataclass
class SpfAnalysis:
    """What `ee dns validate` reports about a domain's SPF record, independent of any client IP."""

    domain: str
    record: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dns_failure: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    chain: list[dict[str, Any]] = field(default_factory=list)
    all_qualifier: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain, "record": self.record, "errors": self.errors, "warnings": self.warnings,
            "dns_failure": self.dns_failure, "lookups": self.lookups, "void_lookups": self.void_lookups,
            "chain": self.chain, "all": self.all_qualifier,
        }


def analyze(resolver: Resolver, domain: str) -> SpfAnalysis:
    """Walk domain's SPF record and every include/redirect it names, counting DNS-querying terms.

    Unlike check_host() this never stops early: it reports the total lookup count and which
    include spends how many, even past the limit, plus syntax errors and policy warnings.
    Macro terms count one lookup and are not followed.
    """
    analysis = SpfAnalysis(domain.rstrip(".").lower())
    try:
        record = _fetch_record(resolver, analysis.domain, analysis, top=True)
        if record is not None:
            analysis.record = record.text
            _walk(resolver, record, analysis.domain, analysis, path=[analysis.domain], seen=set())
            _policy_warnings(record, analysis)
    except DnsTempError as error:
        analysis.dns_failure = str(error)
    if analysis.lookups > MAX_LOOKUPS:
        analysis.errors.append(f"{analysis.lookups} DNS-querying terms; the limit is {MAX_LOOKUPS} "
                               f"(receivers return permerror)")
    if analysis.void_lookups > MAX_VOID_LOOKUPS:
        analysis.errors.append(f"{analysis.void_lookups} void lookups; the limit is {MAX_VOID_LOOKUPS}")
    return analysis


def _fetch_record(resolver: Resolver, domain: str, analysis: SpfAnalysis, top: bool = False) -> Record | None:
    answer = resolver.query(domain, "TXT")
    texts = txt_strings(answer)
    records = [text for text in texts if is_spf_record(text)]
    where = "" if top else f" (named by an include/redirect of {analysis.domain})"
    if not records:
        lookalikes = [text for text in texts if text.strip().lower().startswith("v=spf")]
        hint = f"; ignored lookalike {lookalikes[0][:40]!r}" if lookalikes else ""
        analysis.errors.append(f"{domain} publishes no SPF record{where}{hint}")
        return None
    if len(records) > 1:
        analysis.errors.append(f"{domain} publishes {len(records)} SPF records{where}; exactly one is allowed")
        return None
    if top:
        for parts in answer.records:
            if b"".join(parts).decode("utf-8", "replace") == records[0] and len(records[0].encode()) > 450:
                analysis.warnings.append(f"the record is {len(records[0].encode())} bytes; keep it under 450 "
                                         "so answers fit one UDP packet (RFC 7208 §3.4)")
    try:
        return parse_record(records[0])
    except SpfPermError as error:
        analysis.errors.append(f"syntax error in the SPF record of {domain}: {error}")
        return None


def _walk(resolver: Resolver, record: Record, domain: str, analysis: SpfAnalysis, path: list[str],
          seen: set[str]) -> int:
    """Count the lookups of record and its children; append one chain entry per record walked."""
    entry: dict[str, Any] = {"domain": domain, "via": " → ".join(path), "own": 0, "total": 0}
    analysis.chain.append(entry)
    own = total = 0
    for mechanism in record.mechanisms:
        if mechanism.name not in LOOKUP_TERMS:
            continue
        own += 1
        analysis.lookups += 1
        spec = mechanism.domain_spec
        if mechanism.name == "ptr" and len(path) == 1:
            analysis.warnings.append("the ptr mechanism is slow and deprecated (RFC 7208 §5.5); list the IPs")
        if spec and "%" in spec:
            continue
        target = (spec or domain).rstrip(".").lower()
        if mechanism.name == "include":
            total += _follow(resolver, target, analysis, path + [target], seen)
        else:
            _count_voids(resolver, mechanism, target, analysis)
    if record.redirect is not None and not record.has_all:
        own += 1
        analysis.lookups += 1
        if "%" not in record.redirect:
            target = record.redirect.rstrip(".").lower()
            total += _follow(resolver, target, analysis, path + [target], seen)
    entry["own"], entry["total"] = own, own + total
    return own + total


def _follow(resolver: Resolver, target: str, analysis: SpfAnalysis, path: list[str], seen: set[str]) -> int:
    if target in path[:-1]:
        analysis.errors.append(f"include/redirect loop: {' → '.join(path)}")
        return 0
    if target in seen:
        analysis.warnings.append(f"{target} is included more than once; each inclusion costs lookups again")
    seen.add(target)
    child = _fetch_record(resolver, target, analysis)
    if child is None:
        return 0
    return _walk(resolver, child, target, analysis, path, seen)


def _count_voids(resolver: Resolver, mechanism: Mechanism, target: str, analysis: SpfAnalysis) -> None:
    rdtype = {"mx": "MX", "ptr": None}.get(mechanism.name, "A")
    if rdtype is None:
        return
    answer = resolver.query(target, rdtype)
    if answer.void and rdtype == "A" and mechanism.name == "a":
        answer = resolver.query(target, "AAAA")
    if answer.void:
        analysis.void_lookups += 1
        analysis.warnings.append(f"{mechanism.text} finds nothing at {target} (a void lookup)")
    if rdtype == "MX" and len(answer.records) > MAX_MX_RECORDS:
        analysis.errors.append(f"{target} has {len(answer.records)} MX records; {mechanism.text} allows "
                               f"{MAX_MX_RECORDS} (permerror)")


def _policy_warnings(record: Record, analysis: SpfAnalysis) -> None:
    terminal = next((m for m in record.mechanisms if m.name == "all"), None)
    if terminal is None:
        analysis.all_qualifier = None
        if record.redirect is None:
            analysis.warnings.append("no terminal all: unmatched senders get neutral; end with ~all or -all")
        return
    analysis.all_qualifier = terminal.qualifier
    if terminal.qualifier == "+":
        analysis.errors.append("+all authorizes every IP on the internet to send as this domain")
    elif terminal.qualifier == "?":
        analysis.warnings.append("?all gives no protection: unmatched senders get neutral; use ~all or -all")
    last = record.mechanisms[-1]
    if last is not terminal:
        analysis.warnings.append(f"terms after {terminal.text} are never evaluated")
    if record.redirect is not None:
        analysis.warnings.append("redirect= is ignored because the record has an all mechanism")
