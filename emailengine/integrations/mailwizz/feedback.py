"""MailWizz feedback: the "mailwizz" outbox destination tells MailWizz of hard bounces and complaints.

Per event (mailwizz.md §2, §3):
1. find campaign and subscriber: the 1.x uids in the payload (`campaign_uid`, `subscriber_uid`,
   from the X-…-Campaign-Uid / Subscriber-Uid headers), else the stored Message-ID
   (`GET campaigns/delivery-logs/email-message-id/{id}`, angle brackets stripped);
2. hard bounce (and soft_bounce_suppressed, which ee treats as final): `POST
   campaigns/{campaign_uid}/bounces` with subscriber_uid, bounce_type=hard, message; a 422
   (already recorded for that campaign and subscriber) counts as delivered;
3. complaint, or a bounce whose campaign/subscriber cannot be found (no uids, no Message-ID,
   or the delivery log does not know it): `PUT lists/subscribers/unsubscribe-by-email-from-all-lists`
   with EMAIL, so MailWizz stops mailing the address either way. A 404 there (the address is in
   no list) counts as delivered: there is nothing left to stop.
Each event yields one policy.Attempt; the runner applies the shared retry/dead-letter rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from emailengine.forwarding.policy import Attempt

if TYPE_CHECKING:
    import httpx

    from emailengine.config import Settings
    from emailengine.forwarding.outbox import ClaimedEvent

MAX_TEXT = 2000
BOUNCE_TYPES = ("hard_bounce", "soft_bounce_suppressed")


class _Stop(Exception):
    """A step failed in a way the runner must see (transport error, 5xx, 429, other 4xx)."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error or attempt.status_code)
        self.attempt = attempt


def _unavailable(attempt: Attempt) -> bool:
    code = attempt.status_code
    return not attempt.accepted and (code is None or code == 429 or code >= 500)


def _find(data: Any, name: str) -> str | None:
    """Return the first non-empty value of key `name` anywhere in nested dicts (answers vary by version)."""
    if isinstance(data, dict):
        value = data.get(name)
        if isinstance(value, str | int) and str(value):
            return str(value)
        for child in data.values():
            found = _find(child, name)
            if found:
                return found
    return None


def bounce_message(event: dict[str, Any]) -> str:
    """Return the bounce text MailWizz stores: status and diagnostic."""
    parts = [str(event.get(k)) for k in ("status", "diag") if event.get(k)]
    if event.get("type") == "soft_bounce_suppressed":
        parts.insert(0, "suppressed by ee after repeated soft bounces")
    return " ".join(parts)[:500] or str(event.get("type", "bounce"))


class MailwizzSender:
    """Delivers outbox events to the MailWizz API, one event at a time."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        from emailengine.integrations.mailwizz.api import api_client

        self.settings = settings
        self.client = client or api_client(settings)

    def close(self) -> None:
        self.client.close()

    def deliver(self, events: list[ClaimedEvent], now: datetime) -> list[Attempt]:
        """Deliver each event; once MailWizz looks down (transport error, 429, 5xx), the rest of the
        batch gets that same answer without a call, so a slow outage cannot outlast the claim lease."""
        attempts: list[Attempt] = []
        for event in events:
            if attempts and _unavailable(attempts[-1]):
                attempts.append(attempts[-1])
                continue
            attempts.append(self.deliver_one(event))
        return attempts

    def deliver_one(self, event: ClaimedEvent) -> Attempt:
        payload = {**event.payload, "type": event.event_type, "email": event.email}
        try:
            if event.event_type in BOUNCE_TYPES:
                target = self._resolve(payload)
                if target is not None:
                    return self._bounce(target[0], target[1], payload)
            return self._unsubscribe_everywhere(event.email)
        except _Stop as stop:
            return stop.attempt

    def _call(self, method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        import httpx

        try:
            return self.client.request(method, path, data=data)
        except httpx.TimeoutException as error:
            raise _Stop(Attempt(None, f"timeout: {type(error).__name__}")) from None
        except httpx.ConnectError as error:
            raise _Stop(Attempt(None, f"connect error: {str(error)[:200]}")) from None
        except httpx.TransportError as error:
            raise _Stop(Attempt(None, f"connection error: {type(error).__name__}")) from None

    @staticmethod
    def _failure(response: httpx.Response, step: str) -> Attempt:
        return Attempt(response.status_code, None, response.headers.get("Retry-After"),
                       f"{step}: {response.text[:MAX_TEXT]}")

    def _resolve(self, payload: dict[str, Any]) -> tuple[str, str] | None:
        """Return (campaign_uid, subscriber_uid), or None when MailWizz does not know the message."""
        campaign, subscriber = payload.get("campaign_uid"), payload.get("subscriber_uid")
        if campaign and subscriber:
            return str(campaign), str(subscriber)
        message_id = str(payload.get("message_id") or "").strip().strip("<>")
        if not message_id:
            return None
        response = self._call("GET", f"campaigns/delivery-logs/email-message-id/{quote(message_id, safe='@')}")
        if response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise _Stop(self._failure(response, "delivery-log lookup"))
        try:
            data = response.json()
        except ValueError:
            raise _Stop(Attempt(502, None, None, "delivery-log lookup: answer is not JSON")) from None
        campaign, subscriber = _find(data, "campaign_uid"), _find(data, "subscriber_uid")
        return (campaign, subscriber) if campaign and subscriber else None

    def _bounce(self, campaign_uid: str, subscriber_uid: str, payload: dict[str, Any]) -> Attempt:
        form = {"subscriber_uid": subscriber_uid, "bounce_type": "hard", "message": bounce_message(payload)}
        response = self._call("POST", f"campaigns/{quote(campaign_uid, safe='')}/bounces", form)
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, None, None, response.text[:MAX_TEXT])
        if response.status_code == 422:
            # MailWizz answers 422 when this campaign/subscriber bounce is already recorded.
            return Attempt(422, None, None, f"already recorded: {response.text[:MAX_TEXT]}", accepted=True)
        return self._failure(response, "bounce")

    def _unsubscribe_everywhere(self, email: str) -> Attempt:
        response = self._call("PUT", "lists/subscribers/unsubscribe-by-email-from-all-lists", {"EMAIL": email})
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, None, None, response.text[:MAX_TEXT])
        if response.status_code == 404:
            return Attempt(404, None, None, f"in no list: {response.text[:MAX_TEXT]}", accepted=True)
        return self._failure(response, "unsubscribe")
