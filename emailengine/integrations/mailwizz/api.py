"""MailWizz REST API client: authentication headers for both API generations, and the few
read calls `ee` uses (delivery servers, a connectivity check).

Version-dependent behaviour lives here only (mailwizz.md §2):
- 2.x (`EE_MAILWIZZ_API_VERSION=2`, default): one header `X-Api-Key`, no signature.
- 1.x (`EE_MAILWIZZ_API_VERSION=1`): `X-MW-PUBLIC-KEY`, `X-MW-TIMESTAMP`, `X-MW-REMOTE-ADDR`,
  `X-MW-SIGNATURE` = hex HMAC-SHA1 (key = private key) of
  `METHOD URL?urlencoded(sorted(headers + POST/PUT params))`, where URL carries the GET params
  key-sorted (the separator is `&` when the URL already has a query string).

Other modules (the forwarding helper's feedback calls) build on `auth_headers` and `api_client`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from emailengine.errors import ConfigError, TemporaryFailure

if TYPE_CHECKING:
    import httpx

    from emailengine.config import Settings

# The 1.x SDK sends the server's address; we have no meaningful one, and the value only has to
# be the same in the header and in the signed string.
REMOTE_ADDR = "127.0.0.1"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def php_query(pairs: dict[str, str]) -> str:
    """Key-sorted `http_build_query` as PHP writes it (RFC 1738: space → +, `~` → %7E)."""
    return urlencode(sorted(pairs.items()), quote_via=lambda text, *_: quote_plus(text, safe="").replace("~", "%7E"))


def sorted_url(url: str, get_params: dict[str, Any] | None = None) -> str:
    """Return url with its query (plus get_params) key-sorted, as the 1.x SDK and server sign it."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: "" if v is None else str(v) for k, v in (get_params or {}).items()})
    encoded = php_query(query) if query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, ""))


def signature_1x(private_key: str, method: str, url: str, special: dict[str, str],
                 get_params: dict[str, Any] | None = None,
                 body_params: dict[str, Any] | None = None) -> str:
    """Return the 1.x X-MW-SIGNATURE (hex HMAC-SHA1) for one request.

    url is the absolute request URL; get_params are the query params (also sorted into the URL);
    body_params are POST/PUT form fields; special are the three X-MW-* header values.
    """
    signed_url = sorted_url(url, get_params)
    merged: dict[str, str] = {k: "" if v is None else str(v) for k, v in (body_params or {}).items()}
    merged.update(special)
    separator = "&" if urlsplit(signed_url).query else "?"
    text = f"{method.upper()} {signed_url}{separator}{php_query(merged)}"
    return hmac.new(private_key.encode(), text.encode(), hashlib.sha1).hexdigest()


def auth_headers(settings: Settings, method: str, url: str, params: dict | None = None,
                 now: float | None = None) -> dict[str, str]:
    """Return the MailWizz auth headers for one request.

    url: the absolute URL (may already hold a query string); params: the query params for
    GET/HEAD, the form fields for POST/PUT/PATCH/DELETE (1.x signs both). 2.x ignores them.
    Raises ConfigError when the key (or, for 1.x, the private key) is not set.
    """
    if settings.mailwizz_api_key is None:
        raise ConfigError("EE_MAILWIZZ_API_KEY is not set", "set the MailWizz API key")
    public_key = settings.mailwizz_api_key.get_secret_value()
    if int(settings.mailwizz_api_version) != 1:
        return {"X-Api-Key": public_key}
    if settings.mailwizz_api_private_key is None:
        raise ConfigError("EE_MAILWIZZ_API_PRIVATE_KEY is not set",
                          "the 1.x API signs requests with the private key")
    special = {
        "X-MW-PUBLIC-KEY": public_key,
        "X-MW-TIMESTAMP": str(int(time.time() if now is None else now)),
        "X-MW-REMOTE-ADDR": REMOTE_ADDR,
    }
    upper = method.upper()
    get_params = None if upper in BODY_METHODS else params
    body_params = params if upper in BODY_METHODS else None
    signature = signature_1x(settings.mailwizz_api_private_key.get_secret_value(), upper, url,
                             special, get_params, body_params)
    return {**special, "X-MW-SIGNATURE": signature}


def api_base(settings: Settings) -> str:
    """Return EE_MAILWIZZ_API_URL with one trailing slash; ConfigError when unset."""
    if not settings.mailwizz_api_url:
        raise ConfigError("EE_MAILWIZZ_API_URL is not set", "e.g. https://mailwizz.example.com/api")
    return settings.mailwizz_api_url.rstrip("/") + "/"


def _sign_request(settings: Settings, request: httpx.Request) -> None:
    """httpx request hook: add the auth headers computed from the final request."""
    url = str(request.url)
    params: dict[str, str] = {}
    if request.method.upper() in BODY_METHODS:
        body = request.content.decode("utf-8", "replace") if request.content else ""
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params = dict(parse_qsl(body, keep_blank_values=True))
    else:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    request.headers.update(auth_headers(settings, request.method, url, params))


def api_client(settings: Settings) -> httpx.Client:
    """Return an httpx.Client on EE_MAILWIZZ_API_URL that signs every request.

    Use relative paths (`client.get("delivery-servers")`); form bodies via `data=` are signed
    too for 1.x. The caller closes the client (use it as a context manager).
    """
    import httpx

    base = api_base(settings)
    return httpx.Client(base_url=base, timeout=settings.mailwizz_timeout,
                        event_hooks={"request": [lambda request: _sign_request(settings, request)]},
                        headers={"Accept": "application/json"})


def _payload(response: httpx.Response) -> dict[str, Any]:
    """Decode a MailWizz JSON answer; garbage → TemporaryFailure."""
    try:
        data = response.json()
    except ValueError as exc:
        raise TemporaryFailure(f"MailWizz API answered HTTP {response.status_code} with non-JSON",
                               "check EE_MAILWIZZ_API_URL") from exc
    if not isinstance(data, dict):
        raise TemporaryFailure("MailWizz API answered an unexpected JSON shape")
    return data


def list_delivery_servers(settings: Settings, per_page: int = 50) -> list[dict[str, Any]]:
    """Return all delivery servers visible to the key (2.1.13: only the customer's own servers,
    fields server_id, type, name, hostname, status). Errors → TemporaryFailure/PermissionDenied."""
    import httpx

    from emailengine.errors import PermissionDenied

    records: list[dict[str, Any]] = []
    page = 1
    try:
        with api_client(settings) as client:
            while page and page < 1000:
                response = client.get("delivery-servers", params={"page": page, "per_page": per_page})
                data = _payload(response)
                if response.status_code in (401, 403):
                    raise PermissionDenied(f"MailWizz API refused the key: {data.get('error')}")
                if data.get("status") != "success":
                    raise TemporaryFailure(f"MailWizz API error: {data.get('error')}")
                body = data.get("data") or {}
                records.extend(r for r in body.get("records") or [] if isinstance(r, dict))
                next_page = body.get("next_page")
                page = int(next_page) if next_page else 0
    except httpx.HTTPError as exc:
        raise TemporaryFailure(f"MailWizz API unreachable: {type(exc).__name__}",
                               "check EE_MAILWIZZ_API_URL") from exc
    return records
