"""IP and domain inventory: validation (pure) and the operations on the database.

Every state-changing function writes its audit row (and, for state changes, its ip_events row)
in the caller's transaction, so a change and its record commit together or not at all.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emailengine.errors import Conflict, NotFound, UsageError
from emailengine.lifecycle import INITIAL_STATE, State, check_transition, parse_state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from emailengine.db.models import Domain, Ip

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_VMTA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_POOL = _VMTA


def normalize_ip(text: str) -> str:
    """Return the canonical text of an IPv4 or IPv6 address; raise UsageError if invalid."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise UsageError(f"invalid IP address {text!r}") from None
    if address.is_unspecified or address.is_multicast:
        raise UsageError(f"{address} cannot be a sending address")
    return str(address)


def normalize_domain(text: str) -> str:
    """Return the IDNA (punycode) lowercase form of a domain name; raise UsageError if invalid."""
    name = text.strip().rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii") if name else ""
    except UnicodeError:
        raise UsageError(f"invalid domain name {text!r}") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise UsageError(f"invalid domain name {text!r}", "expected e.g. mail.example.com")
    if labels[-1].isdigit():
        raise UsageError(f"invalid domain name {text!r}", "the last label cannot be numeric")
    return ascii_name


def validate_vmta(name: str, what: str = "virtual MTA name") -> str:
    """Return name if it is a valid PowerMTA virtual-mta (or pool) name."""
    if not _VMTA.match(name):
        raise UsageError(f"invalid {what} {name!r}", "letters, digits, _ . - (at most 64)")
    return name


@dataclass(frozen=True)
class IpSpec:
    """A validated IP to add."""

    address: str
    hostname: str
    vmta: str
    pool: str = "default"
    host: str = ""
    mailwizz_server_id: int | None = None
    state: State = INITIAL_STATE


def make_ip_spec(address: str, hostname: str, vmta: str, pool: str = "default", host: str = "",
                 mailwizz_server_id: int | str | None = None, state: str | State | None = None) -> IpSpec:
    """Validate every field of an IP to add; raise UsageError naming the first bad one."""
    server_id: int | None = None
    if mailwizz_server_id not in (None, ""):
        try:
            server_id = int(mailwizz_server_id)  # type: ignore[arg-type]
        except ValueError:
            raise UsageError(f"invalid MailWizz server id {mailwizz_server_id!r}") from None
        if server_id <= 0:
            raise UsageError(f"invalid MailWizz server id {mailwizz_server_id!r}")
    return IpSpec(
        address=normalize_ip(address),
        hostname=normalize_domain(hostname),
        vmta=validate_vmta(vmta.strip()),
        pool=validate_vmta((pool or "default").strip(), "pool name"),
        host=normalize_domain(host) if host and host.strip() else "",
        mailwizz_server_id=server_id,
        state=parse_state(state) if isinstance(state, str) and state.strip() else (state or INITIAL_STATE),
    )


IMPORT_COLUMNS = ("ip", "hostname", "vmta", "pool", "host", "mailwizz_server_id", "state")


def parse_ip_csv(text: str) -> list[IpSpec]:
    """Parse an inventory CSV (header required: ip,hostname,vmta[,pool,host,mailwizz_server_id,state]).

    Raise UsageError naming every bad line (all rows or none).
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in ("ip", "hostname", "vmta") if name not in header]
    if missing:
        raise UsageError(f"CSV header lacks {', '.join(missing)}", "first line must be ip,hostname,vmta[,...]")
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if unknown:
        raise UsageError(f"CSV header has unknown columns {', '.join(unknown)}")
    reader.fieldnames = header
    specs: list[IpSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    seen_vmta: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                problems.append(f"line {line}: wrong number of fields")
                continue
            try:
                spec = make_ip_spec(row["ip"], row["hostname"], row["vmta"], row.get("pool") or "default",
                                    row.get("host") or "", row.get("mailwizz_server_id"), row.get("state"))
            except UsageError as error:
                problems.append(f"line {line}: {error.one_line()}")
                continue
            if spec.address in seen:
                problems.append(f"line {line}: {spec.address} repeats line {seen[spec.address]}")
                continue
            if spec.vmta in seen_vmta:
                problems.append(f"line {line}: vmta {spec.vmta} repeats line {seen_vmta[spec.vmta]}")
                continue
            seen[spec.address], seen_vmta[spec.vmta] = line, line
            specs.append(spec)
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: {error}")
    if problems:
        raise UsageError(f"{len(problems)} bad line(s): " + "; ".join(problems[:50]), "nothing was imported")
    if not specs:
        raise UsageError("the CSV has no data rows")
    return specs


# ---- database operations -------------------------------------------------------------------


def ip_to_dict(ip: Ip) -> dict[str, Any]:
    """Return the plain-data view of an IP (what --json prints)."""
    return {
        "address": ip.address, "hostname": ip.hostname, "vmta": ip.vmta, "pool": ip.pool, "host": ip.host,
        "state": ip.state, "state_since": ip.state_since, "mailwizz_server_id": ip.mailwizz_server_id,
        "warmup_plan": ip.warmup_plan, "warmup_day": ip.warmup_day, "daily_quota": ip.daily_quota,
        "hourly_quota": ip.hourly_quota, "quarantine_until": ip.quarantine_until,
        "retire_requested": ip.retire_requested,
    }


def get_ip(session: Session, address: str) -> Ip:
    """Return the IP row for an address; raise NotFound."""
    from sqlalchemy import select

    from emailengine.db.models import Ip

    canonical = normalize_ip(address)
    ip = session.scalar(select(Ip).where(Ip.address == canonical))
    if ip is None:
        raise NotFound(f"IP {canonical} is not in the inventory", "see `ee ip list`")
    return ip


def add_ips(session: Session, specs: list[IpSpec], actor: str, reason: str = "added") -> list[Ip]:
    """Insert IPs with their first ip_events row and one audit row each; refuse duplicates."""
    from sqlalchemy import or_, select

    from emailengine import audit
    from emailengine.db.models import Ip, IpEvent, utcnow

    addresses = [spec.address for spec in specs]
    vmtas = [spec.vmta for spec in specs]
    clashes = session.execute(
        select(Ip.address, Ip.vmta).where(or_(Ip.address.in_(addresses), Ip.vmta.in_(vmtas)))
    ).all()
    if clashes:
        names = ", ".join(f"{row.address} (vmta {row.vmta})" for row in clashes[:20])
        raise Conflict(f"already in the inventory: {names}", "nothing was added")
    now = utcnow()
    added = []
    for spec in specs:
        ip = Ip(address=spec.address, family=ipaddress.ip_address(spec.address).version, hostname=spec.hostname,
                vmta=spec.vmta, pool=spec.pool, host=spec.host, mailwizz_server_id=spec.mailwizz_server_id,
                state=spec.state.value, state_since=now,
                warmup_day=1 if spec.state == State.WARMING else 0)
        ip.events.append(IpEvent(from_state=None, to_state=spec.state.value, reason=reason, actor=actor, at=now))
        session.add(ip)
        added.append(ip)
    session.flush()
    for ip in added:
        audit.append(session, actor, "ip.add", ip.address, None, ip_to_dict(ip))
    return added


def transition(session: Session, ip: Ip, target: State, reason: str, actor: str,
               job_run_id: int | None = None, **changes: Any) -> None:
    """Move an IP to target through the lifecycle table, with its ip_events and audit rows.

    changes: other columns set in the same transaction (quarantine_until, warmup_day, ...).
    """
    from emailengine import audit
    from emailengine.db.models import IpEvent, utcnow

    if not reason.strip():
        raise UsageError("a reason is required for a state change")
    current = State(ip.state)
    check_transition(current, target)
    before = ip_to_dict(ip)
    now = utcnow()
    ip.state = target.value
    ip.state_since = now
    for column, value in changes.items():
        setattr(ip, column, value)
    session.add(IpEvent(ip_id=ip.id, from_state=current.value, to_state=target.value, reason=reason,
                        actor=actor, job_run_id=job_run_id, at=now))
    session.flush()
    audit.append(session, actor, "ip.set-state", ip.address, before, ip_to_dict(ip))


def remove_ip(session: Session, address: str, actor: str) -> None:
    """Delete an IP (its history goes with it; the audit trail keeps the record)."""
    from emailengine import audit

    ip = get_ip(session, address)
    before = ip_to_dict(ip)
    session.delete(ip)
    session.flush()
    audit.append(session, actor, "ip.remove", ip.address, before, None)


def ip_history(ip: Ip) -> list[dict[str, Any]]:
    """Return the IP's transitions, oldest first."""
    return [
        {"at": e.at, "from": e.from_state, "to": e.to_state, "reason": e.reason, "actor": e.actor,
         "job_run_id": e.job_run_id}
        for e in ip.events
    ]


def domain_to_dict(domain: Domain) -> dict[str, Any]:
    """Return the plain-data view of a domain."""
    return {
        "name": domain.name, "dkim_selector": domain.dkim_selector, "dkim_key_path": domain.dkim_key_path,
        "return_path_domain": domain.return_path_domain, "tracking_domain": domain.tracking_domain,
        "created_at": domain.created_at,
    }


_SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def add_domain(session: Session, name: str, actor: str, dkim_selector: str | None = None,
               dkim_key_path: str | None = None, return_path_domain: str | None = None,
               tracking_domain: str | None = None) -> Domain:
    """Insert a sending domain; refuse a duplicate or a half-given DKIM pair."""
    from sqlalchemy import select

    from emailengine import audit
    from emailengine.db.models import Domain

    canonical = normalize_domain(name)
    if bool(dkim_selector) != bool(dkim_key_path):
        raise UsageError("--dkim-selector and --dkim-key go together")
    selector = dkim_selector.strip().lower() if dkim_selector else None
    if selector and not _SELECTOR.match(selector):
        raise UsageError(f"invalid DKIM selector {dkim_selector!r}")
    if session.scalar(select(Domain.id).where(Domain.name == canonical)) is not None:
        raise Conflict(f"domain {canonical} is already in the inventory")
    domain = Domain(
        name=canonical, dkim_selector=selector, dkim_key_path=dkim_key_path,
        return_path_domain=normalize_domain(return_path_domain) if return_path_domain else None,
        tracking_domain=normalize_domain(tracking_domain) if tracking_domain else None,
    )
    session.add(domain)
    session.flush()
    audit.append(session, actor, "domain.add", canonical, None, domain_to_dict(domain))
    return domain


def get_domain(session: Session, name: str) -> Domain:
    """Return the domain row; raise NotFound."""
    from sqlalchemy import select

    from emailengine.db.models import Domain

    canonical = normalize_domain(name)
    domain = session.scalar(select(Domain).where(Domain.name == canonical))
    if domain is None:
        raise NotFound(f"domain {canonical} is not in the inventory", "see `ee domain list`")
    return domain


def remove_domain(session: Session, name: str, actor: str) -> None:
    """Delete a domain, audit-logged."""
    from emailengine import audit

    domain = get_domain(session, name)
    before = domain_to_dict(domain)
    session.delete(domain)
    session.flush()
    audit.append(session, actor, "domain.remove", domain.name, before, None)
