"""Client for PowerMTA's HTTP management interface (powermta.md §3.2).

Machine formats use the paths without `/ui` plus `?format=json` (5.0): `/status`, `/queues`,
`/vmtas`. The API key, when set, goes in `X-API-Key`. Self-signed TLS is accepted only when
EE_PMTA_TLS_VERIFY=false. PowerMTA down or answering garbage → TemporaryFailure (exit 75).
The list layouts are not documented in the guide: every key is optional and both
`{"data": {"queue": [...]}}` and `{"data": [...]}` shapes are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emailengine.errors import ConfigError, TemporaryFailure

if TYPE_CHECKING:
    from emailengine.config import Settings


@dataclass(frozen=True)
class QueueInfo:
    name: str
    rcp: int
    kb: int
    conn: int
    mode: str
    paused: bool
    retry_time: str

    @property
    def domain(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def vmta(self) -> str:
        return self.name.split("/", 1)[1] if "/" in self.name else ""

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.name, "domain": self.domain, "vmta": self.vmta, "rcpt": self.rcp, "kb": self.kb,
                "conn": self.conn, "mode": self.mode, "paused": self.paused, "retry_time": self.retry_time}


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _yes(value: Any) -> bool:
    return value is True or str(value).lower() in ("yes", "true", "1")


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    """Find the list of records under data (tolerating the shapes seen in community code)."""
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        for name in (key, key + "s", "items", "records"):
            value = data.get(name)
            if isinstance(value, list):
                return [d for d in value if isinstance(d, dict)]
            if isinstance(value, dict):
                return [value]
    return []


def parse_queues(payload: Any) -> list[QueueInfo]:
    """Turn a `/queues?format=json` answer into QueueInfo rows; garbage → TemporaryFailure."""
    data = _data(payload)
    rows = []
    for item in _items(data, "queue"):
        name = str(item.get("name") or "")
        if not name:
            continue
        rows.append(QueueInfo(name=name, rcp=_int(item.get("rcp", item.get("rcpt"))), kb=_int(item.get("kb")),
                              conn=_int(item.get("conn")), mode=str(item.get("mode") or "normal"),
                              paused=_yes(item.get("paused")), retry_time=str(item.get("retryTime") or "")))
    return rows


def _data(payload: Any) -> Any:
    if not isinstance(payload, dict) or "data" not in payload:
        raise TemporaryFailure("PowerMTA answered an unexpected document (no 'data')",
                               "is EE_PMTA_URL the management port?")
    if payload.get("status") not in (None, "success"):
        raise TemporaryFailure(f"PowerMTA answered status {payload.get('status')!r}: {payload.get('message', '')}")
    return payload["data"]


def top_queues(queues: list[QueueInfo], limit: int = 20) -> list[QueueInfo]:
    """Largest queues first (recipients, then kbytes, then name)."""
    return sorted(queues, key=lambda q: (-q.rcp, -q.kb, q.name))[:limit]


class PmtaClient:
    """Read-only client for the management interface; use as a context manager."""

    def __init__(self, base_url: str, api_key: str | None = None, verify: bool = True, timeout: float = 10.0):
        import httpx

        if not base_url:
            raise ConfigError("EE_PMTA_URL is not set", "e.g. http://127.0.0.1:8080")
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self.base_url = base_url.rstrip("/")
        # verify=False only when the operator set EE_PMTA_TLS_VERIFY=false (self-signed monitor).
        self._client = httpx.Client(base_url=self.base_url, headers=headers, verify=verify,  # noqa: S501
                                    timeout=timeout, follow_redirects=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> PmtaClient:
        key = settings.pmta_api_key.get_secret_value() if settings.pmta_api_key else None
        return cls(settings.pmta_url, key, settings.pmta_tls_verify, settings.pmta_timeout)

    def __enter__(self) -> PmtaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get_json(self, path: str) -> Any:
        """GET path?format=json and decode; any failure → TemporaryFailure with one line."""
        import httpx

        try:
            response = self._client.get(path, params={"format": "json"})
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"PowerMTA management API unreachable at {self.base_url}: {type(exc).__name__}",
                                   "is pmtahttp running and EE_PMTA_URL right?") from exc
        if response.status_code in (401, 403):
            raise TemporaryFailure(f"PowerMTA management API refused access (HTTP {response.status_code})",
                                   "check http-access / EE_PMTA_API_KEY")
        if response.status_code != 200:
            raise TemporaryFailure(f"PowerMTA management API answered HTTP {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise TemporaryFailure(f"PowerMTA management API answered non-JSON for {path}",
                                   "5.0 serves ?format=json; is this PowerMTA?") from exc

    def status(self) -> dict[str, Any]:
        """The `/status` data (see powermta.md §3.2)."""
        data = _data(self.get_json("/status"))
        if not isinstance(data, dict):
            raise TemporaryFailure("PowerMTA /status answered an unexpected document")
        return data

    def queues(self) -> list[QueueInfo]:
        return parse_queues(self.get_json("/queues"))

    def vmtas(self) -> list[dict[str, Any]]:
        data = _data(self.get_json("/vmtas"))
        return [{"name": str(v.get("name", "")), "rcpt": _int(v.get("rcp")), "conn": _int(v.get("conn"))}
                for v in _items(data, "vmta")]


def health(status: dict[str, Any]) -> tuple[bool, str]:
    """Judge a /status document: healthy when status.status is `running` and not shutting down."""
    inner = status.get("status")
    if not isinstance(inner, dict):
        return False, "PowerMTA /status has no status section"
    if _yes(inner.get("shuttingDown")):
        return False, "PowerMTA is shutting down"
    state = str(inner.get("status") or "")
    if state != "running":
        return False, f"PowerMTA status is {state or 'unknown'!r}, not 'running'"
    return True, "running"
