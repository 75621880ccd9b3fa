"""The one result shape of every DNS check: a Finding (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "warning", "error")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}


@dataclass
class Finding:
    """One check of one subject (a domain or an IP): status, a human sentence and the fix."""

    subject: str
    check: str
    status: str
    message: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "check": self.check, "status": self.status,
                "message": self.message, "fix": self.fix, "details": self.details}


@dataclass
class Problem:
    """One thing wrong inside a check, before it is folded into the check's Finding."""

    status: str
    message: str
    fix: str = ""


def worst(statuses: list[str]) -> str:
    """Return the most severe of statuses (ok when empty)."""
    return max(statuses, key=_RANK.__getitem__, default="ok")


def fold(subject: str, check: str, problems: list[Problem], ok_message: str,
         details: dict[str, Any] | None = None) -> Finding:
    """Fold a check's problems into one Finding: the worst status, its sentences, their fixes."""
    details = dict(details or {})
    if not problems:
        return Finding(subject, check, "ok", ok_message, "", details)
    status = worst([problem.status for problem in problems])
    ordered = sorted(problems, key=lambda problem: -_RANK[problem.status])
    details["problems"] = [{"status": p.status, "message": p.message, "fix": p.fix} for p in ordered]
    message = "; ".join(problem.message for problem in ordered)
    fixes = []
    for problem in ordered:
        if problem.fix and problem.fix not in fixes:
            fixes.append(problem.fix)
    return Finding(subject, check, status, message, "; ".join(fixes), details)


def dns_failure(subject: str, check: str, error: Exception, what: str) -> Finding:
    """Return the error Finding for a check the DNS could not answer: unknown is never ok."""
    return Finding(subject, check, "error", f"{what} could not be checked: DNS failure ({error})",
                   "check the domain's nameservers and the resolver (EE_DNS_NAMESERVERS); run again",
                   {"dns_failure": str(error)})
