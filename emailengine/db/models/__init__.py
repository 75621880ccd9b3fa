"""All models, so `Base.metadata` is complete for Alembic and the drift test.

Each capability's private tables live in its own module, imported here.
"""

from emailengine.db.models.base import Base, UTCDateTime, utcnow
from emailengine.db.models.core import (
    AlertState,
    AuditEntry,
    DeliveryStat,
    DnsCheck,
    Domain,
    Ip,
    IpEvent,
    IpLane,
    JobRun,
    Listing,
    Operator,
    OutboxEvent,
    Suppression,
    WarmupDecision,
)

__all__ = [
    "AlertState",
    "AuditEntry",
    "Base",
    "DeliveryStat",
    "DnsCheck",
    "Domain",
    "Ip",
    "IpEvent",
    "IpLane",
    "JobRun",
    "Listing",
    "Operator",
    "OutboxEvent",
    "Suppression",
    "UTCDateTime",
    "WarmupDecision",
    "utcnow",
]
