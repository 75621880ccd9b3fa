"""Telegram Bot API: send one text message to the operators' chat.

`sendMessage` on `{EE_TELEGRAM_API_URL}/bot<token>/sendMessage`. A 429 answer carries
`parameters.retry_after` (seconds): we wait that long and try again when it is at most
EE_ALERT_MAX_RETRY_AFTER, else give up. The token is part of the URL, so it is registered with the
log masker and never appears in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.config import Settings

MAX_TEXT = 4096  # Telegram's limit for one message


class TelegramError(Exception):
    """A message could not be sent; the text never contains the token."""


@dataclass(frozen=True)
class TelegramConfig:
    """Where and how to send: API base URL, bot token, chat id, timeout, longest 429 wait."""

    api_url: str
    token: str
    chat_id: str
    timeout: float = 10.0
    max_retry_after: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramConfig | None:
        """Return the config, or None when the bot token or chat id is not set."""
        if not settings.telegram_bot_token or not settings.telegram_chat_id:
            return None
        from emailengine.logs import register_secret

        token = settings.telegram_bot_token.get_secret_value()
        register_secret(token)
        return cls(settings.telegram_api_url.rstrip("/"), token, settings.telegram_chat_id,
                   settings.telegram_timeout, settings.alert_max_retry_after)


def send_message(config: TelegramConfig, text: str, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = 3) -> int:
    """Send text to the chat; return the message id. Raise TelegramError when it cannot be sent.

    Honours 429 retry_after up to config.max_retry_after seconds per wait, at most `attempts` tries.
    """
    import httpx

    url = f"{config.api_url}/bot{config.token}/sendMessage"
    body = {"chat_id": config.chat_id, "text": text[:MAX_TEXT], "disable_web_page_preview": True}
    with httpx.Client(timeout=config.timeout) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(url, json=body)
            except httpx.HTTPError as error:
                raise TelegramError(f"Telegram API unreachable: {type(error).__name__}") from None
            answer = _json(response)
            if response.status_code == 200 and answer.get("ok"):
                return int(answer.get("result", {}).get("message_id", 0))
            if response.status_code == 429:
                wait = _retry_after(answer, response)
                if attempt < attempts and wait <= config.max_retry_after:
                    sleep(wait)
                    continue
                raise TelegramError(f"Telegram rate limit: retry after {wait:g} s")
            description = str(answer.get("description", "")).replace(config.token, "***")[:200]
            raise TelegramError(f"Telegram answered HTTP {response.status_code}: {description or 'no description'}")
    raise TelegramError("Telegram rate limit: gave up after retries")


def _json(response: object) -> dict:
    try:
        data = response.json()  # type: ignore[attr-defined]
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(answer: dict, response: object) -> float:
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    value = parameters.get("retry_after", response.headers.get("Retry-After", 1))  # type: ignore[attr-defined]
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0
