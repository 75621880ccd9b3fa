"""Warmup I/O: load figures and state, call the pure decisions, persist, alert, push to senders.

Set-based on purpose: one aggregate query per judged day for every WARMING IP, bulk inserts of
decisions and bulk updates of lanes and IPs (10,000 IPs × 6 lanes per tick, see bench/).
Output contract (read by the PowerMTA/MailWizz integration): ip_lanes, ips.warmup_plan,
ips.warmup_day, ips.daily_quota (= Σ lanes) and ips.hourly_quota for WARMING and RETIRING IPs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, insert, select, update

from emailengine.db.models import (
    DeliveryStat,
    Ip,
    IpEvent,
    IpLane,
    Listing,
    WarmupDecision,
    WarmupPlan,
    utcnow,
)
from emailengine.errors import Conflict, NotFound, UsageError
from emailengine.lifecycle import State
from emailengine.logs import logger
from emailengine.providers import LANES
from emailengine.warmup import decide as d
from emailengine.warmup.plans import DEFAULT_PLAN, Plan

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings

_COUNTERS = ("delivered", "deferred", "rep_deferred", "hard", "soft", "block", "complaints")


# ---- bulk writes ---------------------------------------------------------------------------
# PostgreSQL gets COPY (into the table, or into a temporary table joined by one UPDATE): tens of
# thousands of single-row statements would take most of the tick's 5-second budget. Other
# databases use SQLAlchemy's executemany, which is fast enough in-process (SQLite).


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """Return one value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _escape(text: str) -> str:
    # The common case has nothing to escape; checking first is several times faster than translate.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _converter(sample: Any) -> Any:
    """Return a fast COPY-text converter for a column, chosen from a sample value's type."""
    if isinstance(sample, bool):
        return lambda v: "\\N" if v is None else ("t" if v else "f")
    if isinstance(sample, int):
        return lambda v: "\\N" if v is None else str(v)
    if isinstance(sample, datetime):
        text = sample.isoformat()  # a tick stamps every row with the same time
        return lambda v: "\\N" if v is None else (text if v is sample else v.isoformat())
    if isinstance(sample, date):
        return lambda v: "\\N" if v is None else v.isoformat()
    if isinstance(sample, dict | list):
        return lambda v: "\\N" if v is None else _escape(json.dumps(v, separators=(",", ":")))
    if isinstance(sample, str):
        return lambda v: "\\N" if v is None else _escape(v)
    return _copy_text


def _copy_lines(session: Session, table: str, columns: list[str], lines: list[str]) -> None:
    """COPY ready-made lines (COPY text format, each ending in a newline) into a table."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for start in range(0, len(lines), 5000):
            copy.write("".join(lines[start:start + 5000]))


def _copy(session: Session, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    samples = {column: next((row[column] for row in rows if row[column] is not None), None) for column in columns}
    converters = [(column, _converter(samples[column])) for column in columns]
    _copy_lines(session, table, columns, ["\t".join([convert(row[column]) for column, convert in converters]) + "\n"
                                          for row in rows])


def _plain_rows(session: Session, statement: Any) -> list[Any]:
    """Return the rows of a Core select as plain tuples. On PostgreSQL they come straight from
    psycopg's cursor (which already returns ints, dates and bools), skipping SQLAlchemy's Row
    objects: 60,000 lanes a tick make that a tenth of a second each time."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return list(connection.execute(statement).all())
    # render_postcompile: IN lists become ordinary parameters, so any select can go this way.
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(compiled.string, compiled.params)
        return cursor.fetchall()


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of a model's table (COPY on PostgreSQL)."""
    if not rows:
        return
    if _is_postgres(session):
        _copy(session, model.__tablename__, list(rows[0]), rows)
    else:
        session.execute(insert(model), rows)


def bulk_update(session: Session, model: Any, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Update many rows of a model's table by primary key (COPY + one UPDATE on PostgreSQL)."""
    if not rows:
        return
    if not _is_postgres(session):
        session.execute(update(model), rows)
        return
    columns = list(rows[0])
    samples = {column: next((row[column] for row in rows if row[column] is not None), None) for column in columns}
    converters = [(column, _converter(samples[column])) for column in columns]
    _update_from_lines(session, model.__tablename__, keys, columns,
                       ["\t".join([convert(row[column]) for column, convert in converters]) + "\n" for row in rows])


def _update_from_lines(session: Session, table: str, keys: tuple[str, ...], columns: list[str],
                       lines: list[str]) -> None:
    """PostgreSQL: update rows by key from COPY text lines (a temporary table and one UPDATE ... FROM)."""
    from sqlalchemy import text

    temporary = f"ee_tmp_{table}"
    listed = ", ".join(columns)
    assignments = ", ".join(f"{column} = t.{column}" for column in columns if column not in keys)
    matches = " AND ".join(f"{table}.{key} = t.{key}" for key in keys)
    # Table and column names come from the models, never from input.
    session.execute(text(f"CREATE TEMP TABLE {temporary} ON COMMIT DROP AS "  # noqa: S608
                         f"SELECT {listed} FROM {table} WITH NO DATA"))
    _copy_lines(session, temporary, columns, lines)
    session.execute(text(f"UPDATE {table} SET {assignments} FROM {temporary} t WHERE {matches}"))  # noqa: S608
    session.execute(text(f"DROP TABLE {temporary}"))


# ---- plans ---------------------------------------------------------------------------------


def _plan_from_row(row: WarmupPlan) -> Plan:
    return Plan(name=row.name, fractions=tuple(float(x) for x in row.fractions), description=row.description,
                floor=row.floor, target_daily=row.target_daily, builtin=row.builtin)


def load_plans(session: Session) -> dict[str, Plan]:
    """Return every stored plan by name (the built-in default is always present)."""
    plans = {row.name: _plan_from_row(row) for row in session.scalars(select(WarmupPlan).order_by(WarmupPlan.name))}
    plans.setdefault(DEFAULT_PLAN.name, DEFAULT_PLAN)
    return plans


def get_plan(session: Session, name: str) -> Plan:
    """Return the named plan; raise NotFound listing the known ones."""
    plans = load_plans(session)
    if name not in plans:
        raise NotFound(f"no warmup plan named {name!r}", f"known plans: {', '.join(sorted(plans))}")
    return plans[name]


def import_plan(session: Session, plan: Plan, actor: str, replace: bool = False) -> None:
    """Store a validated plan (audit-logged); refuse to overwrite a built-in or, without replace, any plan."""
    from emailengine import audit

    existing = session.get(WarmupPlan, plan.name)
    if existing is not None and existing.builtin:
        raise Conflict(f"plan {plan.name!r} is built in and cannot be replaced", "import it under another name")
    if existing is not None and not replace:
        raise Conflict(f"plan {plan.name!r} exists", "use --replace to overwrite it")
    before = _plan_from_row(existing).to_dict() if existing is not None else None
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(WarmupPlan(name=plan.name, description=plan.description, floor=plan.floor,
                           target_daily=plan.target_daily, fractions=list(plan.fractions), builtin=False,
                           created_by=actor))
    session.flush()
    audit.append(session, actor, "warmup.plan-import", plan.name, before, plan.to_dict())


def assign_plan(session: Session, address: str, name: str, actor: str) -> dict[str, Any]:
    """Make an IP follow a plan from its current step on (audit-logged)."""
    from emailengine import audit, inventory

    plan = get_plan(session, name)
    ip = inventory.get_ip(session, address)
    before = inventory.ip_to_dict(ip)
    ip.warmup_plan = plan.name
    session.flush()
    audit.append(session, actor, "warmup.plan-assign", ip.address, before, inventory.ip_to_dict(ip))
    return inventory.ip_to_dict(ip)


def pool_target(settings: Settings, pool: str) -> int:
    """Return the daily target the plan reaches for a pool."""
    return int(settings.warmup_pool_targets.get(pool, settings.warmup_target_daily))


def _plan_for(plans: dict[str, Plan], settings: Settings, name: str | None) -> Plan:
    if name and name in plans:
        return plans[name]
    return plans.get(settings.warmup_default_plan) or plans[DEFAULT_PLAN.name]


# ---- lane shares ---------------------------------------------------------------------------


def pool_shares(session: Session, settings: Settings, until: date) -> dict[str, dict[str, float]]:
    """Return {pool: {lane: share}} from the pools' last window of sent volume ending at `until`;
    a pool with too little history (or none) gets the configured fallback mix."""
    start = until - timedelta(days=settings.warmup_window_days - 1)
    sent = DeliveryStat.delivered + DeliveryStat.hard + DeliveryStat.soft + DeliveryStat.block
    rows = session.execute(
        select(Ip.pool, DeliveryStat.provider, func.sum(sent))
        .join(Ip, Ip.address == DeliveryStat.source_ip)
        .where(DeliveryStat.day.between(start, until))
        .group_by(Ip.pool, DeliveryStat.provider)
    ).all()
    measured: dict[str, dict[str, int]] = {}
    for pool, provider, total in rows:
        lane = provider if provider in LANES else "other"
        measured.setdefault(pool, {}).setdefault(lane, 0)
        measured[pool][lane] += int(total or 0)
    pools = {pool for (pool,) in session.execute(select(Ip.pool).distinct())}
    return {
        pool: d.normalise_shares(measured.get(pool, {}), settings.warmup_lane_shares, LANES,
                                 settings.warmup_share_min_volume)
        for pool in pools | set(measured)
    }


class PoolShares:
    """Pool lane shares, measured only when first needed (a no-op tick never scans the stats)."""

    def __init__(self, session: Session, settings: Settings, until: date) -> None:
        self.session, self.settings, self.until = session, settings, until
        self.data: dict[str, dict[str, float]] | None = None

    def get(self, pool: str) -> dict[str, float]:
        if self.data is None:
            self.data = pool_shares(self.session, self.settings, self.until)
        return _shares(self.data, self.settings, pool)


def _shares(shares: Any, settings: Settings, pool: str) -> dict[str, float]:
    if isinstance(shares, PoolShares):
        return shares.get(pool)
    if pool not in shares:
        shares[pool] = d.normalise_shares({}, settings.warmup_lane_shares, LANES, settings.warmup_share_min_volume)
    return shares[pool]


# ---- start warming -------------------------------------------------------------------------


def _lane_rows(ip_id: int, plan_day: int, share_by_lane: dict[str, float], volumes: list[int]) -> list[dict[str, Any]]:
    return [{"ip_id": ip_id, "lane": lane, "plan_day": plan_day, "sending_days": 0, "idle_days": 0,
             "last_sent_day": None, "paused": False,
             "daily_quota": d.lane_allowance(plan_day, False, share_by_lane[lane], volumes)} for lane in LANES]


def start_warming(session: Session, ip: Ip, plan_day: int, settings: Settings,
                  shares: Any = None, plans: dict[str, Plan] | None = None) -> None:
    """(Re)create the IP's lanes at plan_day of its plan and set its plan, day and quotas.

    Call it in the transaction that moves the IP into WARMING (after inventory.transition).
    """
    plans = plans or load_plans(session)
    plan = _plan_for(plans, settings, ip.warmup_plan)
    if shares is None:
        shares = pool_shares(session, settings, utcnow().date())
    share_by_lane = _shares(shares, settings, ip.pool)
    volumes = plan.volumes(pool_target(settings, ip.pool))
    day = min(max(1, plan_day), plan.length)
    rows = _lane_rows(ip.id, day, share_by_lane, volumes)
    session.execute(delete(IpLane).where(IpLane.ip_id == ip.id))
    session.execute(insert(IpLane), rows)
    daily = sum(row["daily_quota"] for row in rows)
    ip.warmup_plan, ip.warmup_day = plan.name, day
    ip.daily_quota, ip.hourly_quota = daily, d.hourly_quota(daily, settings.warmup_sending_hours)
    session.flush()


def entry_step(from_state: str | None, warmup_day: int, settings: Settings) -> int:
    """Return the step an IP entering WARMING starts at, by where it came from: a new IP at its
    warmup_day (1 unless set), a rested one at EE_REWARM_DAY, a released one at
    EE_QUARANTINE_REWARM_DAY, anything else at step 1."""
    if from_state is None:
        return max(1, warmup_day or 1)
    return {State.RESTING.value: settings.rewarm_day,
            State.QUARANTINE.value: settings.quarantine_rewarm_day}.get(from_state, 1)


def _initialise_missing_lanes(session: Session, settings: Settings, plans: dict[str, Plan],
                              shares: Any) -> list[str]:
    """Give every WARMING IP without lanes its lanes (IPs added by `ee ip add` or moved to WARMING
    by `ee ip set-state`), at the step their last transition implies; set-based."""
    from sqlalchemy.orm import aliased

    has_lanes = select(IpLane.ip_id).where(IpLane.ip_id == Ip.id).exists()
    rows = session.execute(
        select(Ip.id, Ip.address, Ip.pool, Ip.warmup_plan, Ip.warmup_day)
        .where(Ip.state == State.WARMING.value, ~has_lanes)
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    event = aliased(IpEvent)
    latest = select(func.max(event.id)).where(event.ip_id.in_(ids)).group_by(event.ip_id)
    came_from = dict(session.execute(select(IpEvent.ip_id, IpEvent.from_state).where(IpEvent.id.in_(latest))).all())
    lane_rows: list[dict[str, Any]] = []
    ip_rows: list[dict[str, Any]] = []
    for ip_id, _address, pool, plan_name, warmup_day in rows:
        plan = _plan_for(plans, settings, plan_name)
        volumes = plan.volumes(pool_target(settings, pool))
        day = min(entry_step(came_from.get(ip_id), warmup_day, settings), plan.length)
        new = _lane_rows(ip_id, day, _shares(shares, settings, pool), volumes)
        lane_rows += new
        daily = sum(row["daily_quota"] for row in new)
        ip_rows.append({"id": ip_id, "warmup_plan": plan.name, "warmup_day": day, "daily_quota": daily,
                        "hourly_quota": d.hourly_quota(daily, settings.warmup_sending_hours)})
    bulk_insert(session, IpLane, lane_rows)
    bulk_update(session, Ip, ("id",), ip_rows)
    return [row.address for row in rows]


# ---- the daily tick ------------------------------------------------------------------------


@dataclass
class TickReport:
    run_date: date
    dry_run: bool
    days: list[date] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # warmup_decisions rows written: (ip id, day, lane, plan_day_before, plan_day_after, decision,
    # rule, figures as JSON text); plain tuples because a tick writes 60,000 of them for 10,000 IPs.
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    addresses: dict[int, str] = field(default_factory=dict)
    initialised: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    to_resting: list[str] = field(default_factory=list)
    rewarmed: list[str] = field(default_factory=list)
    ramped: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[tuple[str, str, str, str]] = field(default_factory=list)
    changed: bool = False
    pushed: str | None = None

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The decisions of this tick as plain data (IP address instead of id)."""
        return [{"ip": self.addresses.get(ip_id, str(ip_id)), "day": day, "lane": lane, "decision": decision,
                 "plan_day_before": before, "plan_day_after": after, "rule": rule, "figures": json.loads(figures)}
                for ip_id, day, lane, before, after, decision, rule, figures in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"run_date": self.run_date, "dry_run": self.dry_run, "judged_days": self.days,
                "counts": self.counts, "initialised": self.initialised, "promoted": self.promoted,
                "to_resting": self.to_resting, "rewarmed": self.rewarmed, "retiring": self.ramped,
                "changed": self.changed, "pushed": self.pushed, "decisions": self.decisions}


@dataclass
class _IpWork:
    ip_id: int
    address: str
    pool: str
    plan: Plan
    volumes: list[int]
    shares: dict[str, float]
    first_day: date
    quota_before: int
    # lane -> [plan_day, sending_days, idle_days, last_sent_day, paused, daily_quota] (the _L* indexes)
    lanes: dict[str, list[Any]]
    # lane -> the lane's quota at each step (index = plan_day), shared by IPs with the same plan,
    # target and pool: decide.lane_allowance looked up instead of recomputed 60,000 times a day.
    allowances: dict[str, list[int]] = field(default_factory=dict)
    graduated: bool = False


_LANE_COLUMNS = ("plan_day", "sending_days", "idle_days", "last_sent_day", "paused", "daily_quota")
_LPLAN, _LSENDING, _LIDLE, _LLAST, _LPAUSED, _LQUOTA = range(6)
_PREVIOUS = ("delivered", "complaints")  # the day before: only the two-days-running complaint rule
_WINDOW = ("delivered", "deferred", "hard", "soft", "block", "complaints")
_LANE_SET = frozenset(LANES)


def _figures_for_day(session: Session, day: date, window_days: int) -> dict[tuple[int, str], tuple[int, ...]]:
    """Return {(ip id, lane): counts} for WARMING IPs, counts as decide.decide_row takes them: the
    day's counters, the day before's delivered and complaints, the window's counters."""
    start = day - timedelta(days=window_days - 1)
    previous = day - timedelta(days=1)

    def summed(names: tuple[str, ...], condition: Any) -> list[Any]:
        return [func.coalesce(func.sum(case((condition, getattr(DeliveryStat, name)), else_=0)), 0)
                for name in names]

    # Plain rows: the ORM (and Row) result machinery costs more than the query.
    rows = _plain_rows(session,
        select(Ip.id, DeliveryStat.provider, *summed(_COUNTERS, DeliveryStat.day == day),
               *summed(_PREVIOUS, DeliveryStat.day == previous), *summed(_WINDOW, DeliveryStat.day >= start))
        .join(Ip, Ip.address == DeliveryStat.source_ip)
        .where(Ip.state == State.WARMING.value, DeliveryStat.day.between(min(start, previous), day))
        .group_by(Ip.id, DeliveryStat.provider)
    )
    result: dict[tuple[int, str], tuple[int, ...]] = {}
    known = _LANE_SET
    for r in rows:
        # SUM over integer columns comes back as int on every backend (no conversion needed).
        key = (r[0], r[1] if r[1] in known else "other")
        counts = tuple(r[2:])
        if key in result:  # several unknown providers folded into "other"
            counts = tuple(a + b for a, b in zip(result[key], counts, strict=True))
        result[key] = counts
    return result


def _open_listing_tiers(session: Session) -> dict[str, tuple[str, ...]]:
    tiers: dict[str, list[str]] = {}
    for target, tier in session.execute(
        select(Listing.target, Listing.tier).where(Listing.cleared_at.is_(None), Listing.target_kind == "ip")
    ):
        tiers.setdefault(target, []).append(tier)
    return {target: tuple(sorted(set(values))) for target, values in tiers.items()}


def _load_warming(session: Session, settings: Settings, plans: dict[str, Plan], shares: Any, run_date: date) -> dict[int, _IpWork]:
    session.flush()  # the reads below go through the connection, past the ORM's autoflush
    connection = session.connection()
    oldest = run_date - timedelta(days=settings.warmup_catchup_max_days)
    last_decided = dict(connection.execute(
        select(WarmupDecision.ip_id, func.max(WarmupDecision.day))
        .join(Ip, Ip.id == WarmupDecision.ip_id)
        .where(Ip.state == State.WARMING.value, WarmupDecision.day >= oldest - timedelta(days=1))
        .group_by(WarmupDecision.ip_id)
    ).all())
    work: dict[int, _IpWork] = {}
    volumes: dict[tuple[str, int], list[int]] = {}
    allowances: dict[tuple[str, int, str], dict[str, list[int]]] = {}
    for ip_id, address, pool, plan_name, state_since, daily in connection.execute(
        select(Ip.id, Ip.address, Ip.pool, Ip.warmup_plan, Ip.state_since, Ip.daily_quota)
        .where(Ip.state == State.WARMING.value)
    ).all():
        first = max(state_since.astimezone(UTC).date(), oldest)
        if ip_id in last_decided:
            first = max(first, last_decided[ip_id] + timedelta(days=1))
        if first >= run_date:
            continue  # nothing left to judge for this IP
        plan = _plan_for(plans, settings, plan_name)
        target = pool_target(settings, pool)
        if (plan.name, target) not in volumes:
            volumes[(plan.name, target)] = plan.volumes(target)
        steps = volumes[(plan.name, target)]
        share_by_lane = _shares(shares, settings, pool)
        if (plan.name, target, pool) not in allowances:
            allowances[(plan.name, target, pool)] = {
                lane: [d.lane_allowance(step, False, share, steps) for step in range(len(steps) + 2)]
                for lane, share in share_by_lane.items()}
        work[ip_id] = _IpWork(ip_id, address, pool, plan, steps, share_by_lane, first, daily, {},
                              allowances[(plan.name, target, pool)])
    if not work:
        return work
    for row in _plain_rows(session,
        select(IpLane.ip_id, IpLane.lane, IpLane.plan_day, IpLane.sending_days, IpLane.idle_days,
               IpLane.last_sent_day, IpLane.paused, IpLane.daily_quota)
        .join(Ip, Ip.id == IpLane.ip_id).where(Ip.state == State.WARMING.value)
    ):
        item = work.get(row[0])
        if item is not None:
            item.lanes[row[1]] = [row[2], row[3], row[4], row[5], bool(row[6]), row[7]]
    return work


def _judge_day(item: _IpWork, day: date, figures: dict[tuple[int, str], tuple[int, ...]],
               listings: tuple[str, ...], t: d.Thresholds, report: TickReport) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    notable: list[str] = []
    ip_id, volumes, shares, lanes, allowances = item.ip_id, item.volumes, item.shares, item.lanes, item.allowances
    decide_row, top = d.decide_row, 0
    for lane in LANES:
        current = lanes.get(lane)
        if current is None:
            continue
        before, sending, idle, _, paused, quota = current
        decision, figures_json = decide_row(lane, before, sending, idle, paused, quota, figures.get((ip_id, lane)),
                                            listings, volumes, t)
        new = decision.state
        plan_day = new.plan_day
        steps = allowances[lane]
        current[_LPLAN], current[_LSENDING], current[_LIDLE] = plan_day, new.sending_days, new.idle_days
        current[_LPAUSED] = new.paused
        current[_LQUOTA] = 0 if new.paused else (
            steps[plan_day] if 0 <= plan_day < len(steps) else d.lane_allowance(plan_day, False, shares[lane], volumes))
        if decision.sent:
            current[_LLAST] = day
        top = max(top, plan_day)
        rows.append((ip_id, day, lane, before, plan_day, decision.action, decision.rule, figures_json))
        if decision.alert:
            notable.append(f"{lane}: {decision.action} ({decision.rule})")
    if notable:
        report.alerts.append((f"warmup:{item.address}:{day.isoformat()}", f"warmup of {item.address} stepped back or paused",
                              f"{day.isoformat()}: " + "; ".join(notable), item.address))
    # graduated() needs a carrying lane past the last step, so no lane past it means not graduated.
    if top > item.plan.length:
        judged = [lanes[lane] for lane in LANES if lane in lanes]
        item.graduated = d.graduated([x[_LPLAN] for x in judged], [x[_LPAUSED] for x in judged],
                                     [shares[lane] for lane in LANES if lane in lanes], item.plan.length)
    else:
        item.graduated = False
    return rows


@contextmanager
def _decision_writer(session: Session, day: date, now: datetime) -> Iterator[Callable[[list[tuple[Any, ...]]], None]]:
    """Yield a function that stores decision rows of one judged day. On PostgreSQL the rows are
    streamed into one COPY while the next IPs are being judged, so the server inserts (and checks
    constraints) in parallel with the Python work; elsewhere they are inserted at the end."""
    if not _is_postgres(session):
        rows: list[tuple[Any, ...]] = []
        yield rows.extend
        if rows:
            session.execute(insert(WarmupDecision), [
                {"ip_id": ip_id, "day": day, "lane": lane, "plan_day_before": before, "plan_day_after": after,
                 "decision": decision, "rule": rule, "figures": json.loads(figures), "created_at": now}
                for ip_id, day, lane, before, after, decision, rule, figures in rows])
        return
    raw = session.connection().connection.driver_connection
    suffix = f"\t{now.isoformat()}\n"
    day_text = day.isoformat()
    columns = "ip_id, day, lane, plan_day_before, plan_day_after, decision, rule, figures, created_at"
    with raw.cursor() as cursor, cursor.copy(f"COPY {WarmupDecision.__tablename__} ({columns}) FROM STDIN") as copy:
        lines: list[str] = []

        def write(rows: list[tuple[Any, ...]]) -> None:
            for ip_id, _day, lane, before, after, decision, rule, figures in rows:
                # lane and decision are from fixed vocabularies (LANES, the actions): nothing to escape.
                lines.append(f"{ip_id}\t{day_text}\t{lane}\t{before}\t{after}\t{decision}\t{_escape(rule)}\t"
                             f"{_escape(figures)}{suffix}")
            if len(lines) >= 3000:
                copy.write("".join(lines))
                lines.clear()

        yield write
        if lines:
            copy.write("".join(lines))


def _write_lanes(session: Session, pending: list[_IpWork]) -> None:
    """Store every judged lane's new state (COPY + one UPDATE on PostgreSQL)."""
    if not _is_postgres(session):
        bulk_update(session, IpLane, ("ip_id", "lane"),
                    [{"ip_id": item.ip_id, "lane": lane, **dict(zip(_LANE_COLUMNS, values, strict=True))}
                     for item in pending for lane, values in item.lanes.items()])
        return
    lines = []
    for item in pending:
        ip_id = item.ip_id
        for lane, (plan_day, sending, idle, last, paused, quota) in item.lanes.items():
            last_text = "\\N" if last is None else last.isoformat()
            lines.append(f"{ip_id}\t{_escape(lane)}\t{plan_day}\t{sending}\t{idle}\t{last_text}\t"
                         f"{'t' if paused else 'f'}\t{quota}\n")
    if lines:
        _update_from_lines(session, IpLane.__tablename__, ("ip_id", "lane"), ["ip_id", "lane", *_LANE_COLUMNS], lines)


def _decide_warming(session: Session, settings: Settings, work: dict[int, _IpWork], run_date: date,
                    report: TickReport) -> None:
    t = d.Thresholds.from_settings(settings)
    listings = _open_listing_tiers(session)
    last = run_date - timedelta(days=1)
    pending = [item for item in work.values() if item.first_day <= last]
    if not pending:
        return
    day = min(item.first_day for item in pending)
    now = utcnow()
    report.addresses = {item.ip_id: item.address for item in pending}
    decision_rows: list[tuple[Any, ...]] = []
    while day <= last:
        due = [item for item in pending if item.first_day <= day and not item.graduated]
        if due:
            report.days.append(day)
            figures = _figures_for_day(session, day, settings.warmup_window_days)
            with _decision_writer(session, day, now) as write:
                for item in due:
                    rows = _judge_day(item, day, figures, listings.get(item.address, ()), t, report)
                    write(rows)
                    decision_rows += rows
        day += timedelta(days=1)
    report.rows = decision_rows
    for action in (row[5] for row in decision_rows):  # the counts, in first-seen order
        report.counts[action] = report.counts.get(action, 0) + 1
    _write_lanes(session, pending)
    ip_updates = []
    for item in pending:
        if item.graduated:
            continue
        daily = sum(values[_LQUOTA] for values in item.lanes.values())
        plan_days = [item.lanes[lane][_LPLAN] for lane in LANES if lane in item.lanes]
        shares = [item.shares[lane] for lane in LANES if lane in item.lanes]
        ip_updates.append({"id": item.ip_id, "warmup_plan": item.plan.name,
                           "warmup_day": min(d.ip_warmup_day(plan_days, shares), item.plan.length),
                           "daily_quota": daily, "hourly_quota": d.hourly_quota(daily, settings.warmup_sending_hours)})
        report.changed = report.changed or daily != item.quota_before
    bulk_update(session, Ip, ("id",), ip_updates)


def _active_quotas(settings: Settings) -> tuple[int, int]:
    daily = settings.active_daily_quota
    hourly = settings.active_hourly_quota or math.ceil(daily / 24)
    return daily, hourly


def _promote(session: Session, settings: Settings, work: dict[int, _IpWork], actor: str,
             job_run_id: int | None, report: TickReport) -> None:
    from emailengine import inventory

    daily, hourly = _active_quotas(settings)
    for item in work.values():
        if not item.graduated:
            continue
        ip = session.get(Ip, item.ip_id)
        if ip is None:
            continue
        inventory.transition(session, ip, State.ACTIVE, f"finished warmup plan {item.plan.name} "
                             f"({item.plan.length} steps) with clean days", actor, job_run_id=job_run_id,
                             warmup_day=item.plan.length, daily_quota=daily, hourly_quota=hourly)
        # Lanes describe a warmup in progress; a later return to WARMING starts fresh ones.
        session.execute(delete(IpLane).where(IpLane.ip_id == ip.id))
        report.promoted.append(item.address)
        report.changed = True


def _days_in_state(ip: Ip, run_date: date) -> int:
    return max(0, (run_date - ip.state_since.astimezone(UTC).date()).days)


def _retiring_and_resting(session: Session, settings: Settings, run_date: date, actor: str,
                          job_run_id: int | None, report: TickReport, plans: dict[str, Plan],
                          shares: Any) -> None:
    """Ramp RETIRING IPs down, move them to RESTING after the ramp; re-warm rested IPs."""
    from emailengine import inventory

    active_daily, _ = _active_quotas(settings)
    for ip in session.scalars(select(Ip).where(Ip.state == State.RETIRING.value).order_by(Ip.address)):
        elapsed = _days_in_state(ip, run_date)
        if elapsed >= settings.retire_ramp_days:
            inventory.transition(session, ip, State.RESTING, f"ramp-down over after {elapsed} days", actor,
                                 job_run_id=job_run_id, daily_quota=0, hourly_quota=0)
            report.to_resting.append(ip.address)
            report.changed = True
            continue
        quota = d.retiring_quota(active_daily, elapsed, settings.retire_ramp_days)
        if quota != ip.daily_quota:
            ip.daily_quota, ip.hourly_quota = quota, d.hourly_quota(quota, settings.warmup_sending_hours)
            report.changed = True
        report.ramped.append({"ip": ip.address, "day": elapsed, "daily_quota": quota})
    for ip in session.scalars(select(Ip).where(Ip.state == State.RESTING.value).order_by(Ip.address)):
        elapsed = _days_in_state(ip, run_date)
        if elapsed < settings.rest_days:
            continue
        inventory.transition(session, ip, State.WARMING, f"rested {elapsed} days: re-warm from step "
                             f"{settings.rewarm_day}", actor, job_run_id=job_run_id)
        start_warming(session, ip, settings.rewarm_day, settings, shares=shares, plans=plans)
        report.rewarmed.append(ip.address)
        report.changed = True
    session.flush()


def tick(settings: Settings, engine: Engine, actor: str, run_date: date, dry_run: bool = False,
         job_run_id: int | None = None) -> TickReport:
    """Run the daily warmup for run_date (judging the days before it not judged yet, in order):
    lane decisions for WARMING IPs, promotion to ACTIVE, RETIRING ramp-down, RESTING → WARMING.

    Idempotent: decisions are unique per (IP, day, lane) and a judged day is never judged again.
    With dry_run nothing is written, alerted or pushed.
    """
    from sqlalchemy.orm import Session

    from emailengine import audit

    report = TickReport(run_date=run_date, dry_run=dry_run)
    with Session(engine, expire_on_commit=False) as session:
        plans = load_plans(session)
        shares = PoolShares(session, settings, run_date - timedelta(days=1))
        _retiring_and_resting(session, settings, run_date, actor, job_run_id, report, plans, shares)
        report.initialised = _initialise_missing_lanes(session, settings, plans, shares)
        report.changed = report.changed or bool(report.initialised)
        work = _load_warming(session, settings, plans, shares, run_date)
        _decide_warming(session, settings, work, run_date, report)
        _promote(session, settings, work, actor, job_run_id, report)
        if report.days or report.changed:
            audit.append(session, actor, "warmup.tick", run_date.isoformat(), None,
                         {"judged_days": [x.isoformat() for x in report.days], "counts": report.counts,
                          "promoted": report.promoted, "to_resting": report.to_resting,
                          "rewarmed": report.rewarmed, "initialised": len(report.initialised)})
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        _after(settings, engine, actor, job_run_id, report, f"warmup tick {run_date.isoformat()}")
    return report


def _after(settings: Settings, engine: Engine, actor: str, job_run_id: int | None, report: Any, reason: str) -> None:
    from emailengine.alerts import send_alert
    from emailengine.enforce import push_state_to_senders

    for key, title, text, address in report.alerts:
        send_alert(key, title, text, severity="warning", ip=address,
                   action="check the IP's recent bounces/complaints (`ee warmup status --ip IP`)")
    if report.changed:
        result = push_state_to_senders(settings, engine, actor, reason, job_run_id)
        report.pushed = f"pmta={result.pmta} mailwizz={result.mailwizz}"
        for message in result.messages:
            logger.info(message)


# ---- rotation ------------------------------------------------------------------------------


@dataclass
class RotateReport:
    dry_run: bool
    considered: int = 0
    retire: list[dict[str, str]] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    alerts: list[tuple[str, str, str, str]] = field(default_factory=list)
    changed: bool = False
    pushed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "active_considered": self.considered, "retire": self.retire,
                "kept": self.kept, "changed": self.changed, "pushed": self.pushed}


def _rotation_inputs(session: Session, settings: Settings, now: datetime) -> list[Any]:
    from emailengine.warmup.rotation import ActiveIp

    since_day = now.date() - timedelta(days=30)
    sums = {row[0]: row[1:] for row in session.execute(
        select(DeliveryStat.source_ip,
               func.sum(DeliveryStat.delivered + DeliveryStat.hard + DeliveryStat.soft + DeliveryStat.block),
               func.sum(DeliveryStat.hard), func.sum(DeliveryStat.block), func.sum(DeliveryStat.complaints),
               func.sum(DeliveryStat.delivered))
        .join(Ip, Ip.address == DeliveryStat.source_ip)
        .where(Ip.state == State.ACTIVE.value, DeliveryStat.day > since_day)
        .group_by(DeliveryStat.source_ip))}
    listed = dict(session.execute(
        select(Listing.target, func.count())
        .where(Listing.target_kind == "ip", Listing.first_seen >= now - timedelta(days=30))
        .group_by(Listing.target)).all())
    result = []
    for ip in session.scalars(select(Ip).where(Ip.state == State.ACTIVE.value).order_by(Ip.address)):
        attempts, hard, block, complaints, delivered = (int(v or 0) for v in sums.get(ip.address, (0,) * 5))
        result.append(ActiveIp(ip.address, ip.pool, attempts, hard, block, complaints, delivered,
                               int(listed.get(ip.address, 0)), bool(ip.retire_requested),
                               (now - ip.state_since).days))
    return result


def rotate(settings: Settings, engine: Engine, actor: str, dry_run: bool = False, job_run_id: int | None = None,
           now: datetime | None = None) -> RotateReport:
    """Retire degraded, listed-again and operator-marked ACTIVE IPs (plus the optional periodic
    share) to RETIRING, within EE_MIN_ACTIVE_IPS and the pool growth cap. Admin unless `system`."""
    from sqlalchemy.orm import Session

    from emailengine import inventory
    from emailengine.identity import require_role
    from emailengine.warmup.rotation import RotationLimits, plan_rotation

    now = now or utcnow()
    report = RotateReport(dry_run=dry_run)
    limits = RotationLimits(settings.rotation_max_hard_bounce_rate, settings.rotation_max_complaint_rate,
                            settings.rotation_max_block_rate, settings.rotation_max_listings,
                            settings.rotation_min_attempts, settings.rotation_share, settings.min_active_ips,
                            settings.rotation_growth_cap, settings.retire_ramp_days)
    active_daily, _ = _active_quotas(settings)
    with Session(engine, expire_on_commit=False) as session:
        require_role(session, actor, "user" if dry_run else "admin")
        inputs = _rotation_inputs(session, settings, now)
        report.considered = len(inputs)
        plan = plan_rotation(inputs, limits)
        for item in plan.retire:
            report.retire.append({"ip": item.address, "reason": item.reason})
            ip = inventory.get_ip(session, item.address)
            quota = d.retiring_quota(active_daily, 0, settings.retire_ramp_days)
            inventory.transition(session, ip, State.RETIRING, f"rotation: {item.reason}", actor,
                                 job_run_id=job_run_id, retire_requested=False, daily_quota=quota,
                                 hourly_quota=d.hourly_quota(quota, settings.warmup_sending_hours))
            report.changed = True
        for item in plan.kept:
            report.kept.append({"ip": item.address, "reason": item.reason})
            report.alerts.append((f"rotate-kept:{item.address}", f"rotation kept {item.address} ACTIVE",
                                  item.reason, item.address))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        _after(settings, engine, actor, job_run_id, report, "monthly rotation")
    return report


# ---- quarantine release --------------------------------------------------------------------


@dataclass
class ReleaseReport:
    dry_run: bool
    released: list[str] = field(default_factory=list)
    still_listed: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[tuple[str, str, str, str]] = field(default_factory=list)
    changed: bool = False
    pushed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "released": self.released, "still_listed": self.still_listed,
                "waiting": self.waiting, "changed": self.changed, "pushed": self.pushed}


def release_quarantine(settings: Settings, engine: Engine, actor: str, dry_run: bool = False,
                       job_run_id: int | None = None, now: datetime | None = None) -> ReleaseReport:
    """Release QUARANTINE IPs past quarantine_until with no open listing to WARMING at
    EE_QUARANTINE_REWARM_DAY; report (and alert about) those still listed."""
    from sqlalchemy.orm import Session

    from emailengine import inventory
    from emailengine.warmup.quarantine import QuarantinedIp, plan_release

    now = now or utcnow()
    report = ReleaseReport(dry_run=dry_run)
    with Session(engine, expire_on_commit=False) as session:
        ips = {ip.address: ip for ip in session.scalars(select(Ip).where(Ip.state == State.QUARANTINE.value))}
        zones: dict[str, list[str]] = {}
        for target, zone in session.execute(
            select(Listing.target, Listing.zone).where(Listing.cleared_at.is_(None), Listing.target_kind == "ip",
                                                       Listing.target.in_(list(ips) or [""]))
        ):
            zones.setdefault(target, []).append(zone)
        plan = plan_release([QuarantinedIp(a, ip.quarantine_until, tuple(zones.get(a, ()))) for a, ip in ips.items()],
                            now)
        plans = load_plans(session)
        shares = pool_shares(session, settings, now.date() - timedelta(days=1)) if plan.release else {}
        for address in plan.release:
            ip = ips[address]
            inventory.transition(session, ip, State.WARMING, f"quarantine over, no open listing: re-warm from step "
                                 f"{settings.quarantine_rewarm_day}", actor, job_run_id=job_run_id,
                                 quarantine_until=None)
            start_warming(session, ip, settings.quarantine_rewarm_day, settings, shares=shares, plans=plans)
            report.released.append(address)
            report.changed = True
        for address, listed in plan.still_listed:
            report.still_listed.append({"ip": address, "zones": list(listed)})
            report.alerts.append((f"quarantine-listed:{address}", f"{address} stays in QUARANTINE: still listed",
                                  "open listings: " + ", ".join(listed), address))
        report.waiting = [{"ip": address, "quarantine_until": until} for address, until in plan.waiting]
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        _after(settings, engine, actor, job_run_id, report, "quarantine release")
    return report


# ---- status --------------------------------------------------------------------------------


def status(engine: Engine, address: str | None = None, decisions_limit: int = 60) -> list[dict[str, Any]]:
    """Return the warmup view of IPs not ACTIVE (or of one IP): state, plan, day, quotas, lanes
    and the latest decision per lane."""
    from sqlalchemy.orm import Session

    from emailengine import inventory

    with Session(engine) as session:
        query = select(Ip).order_by(Ip.address)
        if address:
            query = query.where(Ip.address == inventory.get_ip(session, address).address)
        else:
            query = query.where(Ip.state.in_([State.WARMING.value, State.RETIRING.value, State.RESTING.value,
                                              State.QUARANTINE.value, State.STANDBY.value]))
        ips = list(session.scalars(query))
        ids = [ip.id for ip in ips]
        lanes: dict[int, list[IpLane]] = {}
        for lane in session.scalars(select(IpLane).where(IpLane.ip_id.in_(ids or [0])).order_by(IpLane.lane)):
            lanes.setdefault(lane.ip_id, []).append(lane)
        latest = _latest_decisions(session, ids)
        result = []
        for ip in ips:
            row = {"address": ip.address, "state": ip.state, "pool": ip.pool, "plan": ip.warmup_plan,
                   "warmup_day": ip.warmup_day, "daily_quota": ip.daily_quota, "hourly_quota": ip.hourly_quota,
                   "state_since": ip.state_since,
                   "lanes": {lane.lane: {"plan_day": lane.plan_day, "daily_quota": lane.daily_quota,
                                         "sending_days": lane.sending_days, "idle_days": lane.idle_days,
                                         "paused": lane.paused, "last_sent_day": lane.last_sent_day}
                             for lane in lanes.get(ip.id, [])},
                   "last_decisions": latest.get(ip.id, [])}
            if address:
                row["decisions"] = [
                    {"day": x.day, "lane": x.lane, "decision": x.decision, "plan_day_before": x.plan_day_before,
                     "plan_day_after": x.plan_day_after, "rule": x.rule, "figures": x.figures}
                    for x in session.scalars(select(WarmupDecision).where(WarmupDecision.ip_id == ip.id)
                                             .order_by(WarmupDecision.day.desc(), WarmupDecision.lane)
                                             .limit(decisions_limit))]
            result.append(row)
        return result


def _latest_decisions(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not ids:
        return {}
    last_day = (select(WarmupDecision.ip_id, func.max(WarmupDecision.day).label("day"))
                .where(WarmupDecision.ip_id.in_(ids)).group_by(WarmupDecision.ip_id).subquery())
    rows = session.execute(
        select(WarmupDecision.ip_id, WarmupDecision.day, WarmupDecision.lane, WarmupDecision.decision,
               WarmupDecision.rule)
        .join(last_day, and_(last_day.c.ip_id == WarmupDecision.ip_id, last_day.c.day == WarmupDecision.day))
        .order_by(WarmupDecision.lane)
    ).all()
    result: dict[int, list[dict[str, Any]]] = {}
    for ip_id, day, lane, decision, rule in rows:
        result.setdefault(ip_id, []).append({"day": day, "lane": lane, "decision": decision, "rule": rule})
    return result


def parse_day(text: str | None, default: date) -> date:
    """Return the date in text (YYYY-MM-DD) or default; raise UsageError for a bad date."""
    if not text:
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid date {text!r}", "use YYYY-MM-DD (UTC)") from None
