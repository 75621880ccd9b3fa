"""All models, so `Base.metadata` is complete for Alembic and the drift test.

Each capability's private tables live in its own module, imported here.
"""

from emailengine.db.models.base import Base, UTCDateTime, utcnow
from emailengine.db.models.bounces import (
    Bounce,
    BounceCount,
    BounceFingerprintBlock,
    BouncePipePosition,
    BouncePipeStatus,
)
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
from emailengine.db.models.forwarding import SigningKey
from emailengine.db.models.ops import AlertSend
from emailengine.db.models.warmup import WarmupPlan

__all__ = [
    "AlertSend",
    "AlertState",
    "AuditEntry",
    "Base",
    "Bounce",
    "BounceCount",
    "BounceFingerprintBlock",
    "BouncePipePosition",
    "BouncePipeStatus",
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
    "SigningKey",
    "Suppression",
    "UTCDateTime",
    "WarmupDecision",
    "WarmupPlan",
    "utcnow",
]
