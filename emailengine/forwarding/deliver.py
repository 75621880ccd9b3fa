"""Sending to destinations: one httpx client per run, one attempt per batch (scraper-pro).

A sender turns claimed events into one `Attempt` per event; deciding what the attempt means is
policy.py's job. Quick in-call retries (tenacity) cover only connection failures before the
request reached the receiver (connect errors): everything else waits for the durable retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from emailengine.forwarding.policy import Attempt
from emailengine.forwarding.signing import KeyData, canonical_body, sign_headers

if TYPE_CHECKING:
    import httpx

    from emailengine.config import Settings
    from emailengine.forwarding.outbox import ClaimedEvent

USER_AGENT = "emailengine-forwarder/1"
MAX_RESPONSE_CHARS = 2000


class Sender(Protocol):
    """What the runner needs from a destination."""

    def deliver(self, events: list[ClaimedEvent], now: datetime) -> list[Attempt]: ...

    def close(self) -> None: ...


def make_client(settings: Settings) -> httpx.Client:
    """Return the run's HTTP client with separate connect and read timeouts."""
    import httpx

    timeout = httpx.Timeout(settings.forward_timeout, connect=settings.forward_connect_timeout)
    return httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False)


def idempotency_key(events: list[ClaimedEvent]) -> str:
    """Return the batch's Idempotency-Key: the same for the same set of event ids."""
    joined = ",".join(sorted(event.event_id for event in events))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def event_object(event: ClaimedEvent) -> dict:
    """Return the contract's event object: the stored payload, with id/type/email authoritative."""
    body = dict(event.payload)
    body["id"] = event.event_id
    body["type"] = event.event_type
    body["email"] = event.email
    return body


def quick_retry(call: Callable[[], Attempt], retries: int) -> Attempt:
    """Run call, retrying up to `retries` times quickly while it fails to connect."""
    from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_random

    retrying = Retrying(stop=stop_after_attempt(retries + 1), wait=wait_random(0.05, 0.3),
                        retry=retry_if_result(lambda a: a.status_code is None and (a.error or "").startswith("connect error")),
                        reraise=True, retry_error_callback=lambda state: state.outcome.result())
    return retrying(call)


class ScraperSender:
    """POSTs signed `{"events": [...]}` batches to EE_SCRAPER_URL."""

    def __init__(self, settings: Settings, key: KeyData, client: httpx.Client | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        from emailengine.db.models import utcnow

        self.settings = settings
        self.key = key
        self.client = client or make_client(settings)
        self.clock = clock or utcnow

    def deliver(self, events: list[ClaimedEvent], now: datetime) -> list[Attempt]:
        body = canonical_body([event_object(event) for event in events])
        batch_key = idempotency_key(events)
        attempt = quick_retry(lambda: self._post(body, batch_key), self.settings.forward_quick_retries)
        return [attempt] * len(events)

    def _post(self, body: bytes, batch_key: str) -> Attempt:
        import httpx

        headers = {"Content-Type": "application/json", "Idempotency-Key": batch_key,
                   **sign_headers(self.key, body, self.clock(), self.settings.forward_issuer)}
        try:
            response = self.client.post(self.settings.scraper_url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            return Attempt(None, f"timeout: {type(error).__name__}")
        except httpx.ConnectError as error:
            return Attempt(None, f"connect error: {_first_line(error)}")
        except httpx.TransportError as error:
            return Attempt(None, f"connection error: {type(error).__name__}: {_first_line(error)}")
        return Attempt(response.status_code, None, response.headers.get("Retry-After"),
                       response.text[:MAX_RESPONSE_CHARS])

    def close(self) -> None:
        self.client.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
