"""`ee mailwizz check` and the REST client against the loopback MailWizz API stand-in."""

from __future__ import annotations

import pytest

from emailengine.standins.mailwizz_api import MailWizzApiStandin


def _env(monkeypatch, api: MailWizzApiStandin, public: str, private: str | None = None) -> None:
    monkeypatch.setenv("EE_MAILWIZZ_API_URL", api.url)
    monkeypatch.setenv("EE_MAILWIZZ_API_KEY", public)
    monkeypatch.setenv("EE_MAILWIZZ_API_VERSION", str(api.version))
    if private:
        monkeypatch.setenv("EE_MAILWIZZ_API_PRIVATE_KEY", private)


@pytest.mark.parametrize("version", [1, 2])
def test_check_api_path_both_versions(cli, monkeypatch, version) -> None:
    servers = [{"server_id": n, "type": "smtp-pmta", "name": f"s{n}", "hostname": "h", "status": "active"}
               for n in range(1, 24)]
    with MailWizzApiStandin(version=version, public_key="pub" * 10, private_key="priv" * 10,
                            servers=servers) as api:
        _env(monkeypatch, api, "pub" * 10, "priv" * 10)
        result = cli("mailwizz", "check", "--json")
        assert result.exit_code == 0, result
        rows = {r["path"]: r for r in result.json()}
        assert rows[f"REST API {version}.x"] == {"path": f"REST API {version}.x", "ok": "yes",
                                                  "detail": "23 delivery servers visible to the key"}
        assert rows["database"]["ok"] == "no" and "not set" in rows["database"]["detail"]
        header = "x-mw-signature" if version == 1 else "x-api-key"
        assert all(header in headers for _, _, headers, _ in api.requests)


@pytest.mark.parametrize("version", [1, 2])
def test_check_wrong_key_exits_75(cli, monkeypatch, version) -> None:
    with MailWizzApiStandin(version=version, public_key="pub", private_key="priv") as api:
        _env(monkeypatch, api, "pub" if version == 1 else "nope", "wrong-private")
        result = cli("mailwizz", "check", "--json")
        assert result.exit_code == 75, result
        detail = {r["path"]: r for r in result.json()}[f"REST API {version}.x"]["detail"]
        assert ("Invalid API request signature" if version == 1 else "Invalid API key") in detail


def test_check_nothing_configured_exits_2(cli) -> None:
    result = cli("mailwizz", "check")
    assert result.exit_code == 2 and "not configured" in result.stderr


@pytest.mark.parametrize("version", [1, 2])
def test_api_client_signs_form_posts(version) -> None:
    from emailengine.config import load_settings
    from emailengine.integrations.mailwizz.api import api_client

    with MailWizzApiStandin(version=version, public_key="pub", private_key="priv") as api:
        settings = load_settings(mailwizz_api_url=api.url, mailwizz_api_key="pub", mailwizz_api_private_key="priv",
                                 mailwizz_api_version=version)
        api.delivery_logs["ab12@bounce.example.com"] = {"campaign_uid": "cmp1", "subscriber_uid": "sub1"}
        with api_client(settings) as client:
            log = client.get("campaigns/delivery-logs/email-message-id/ab12@bounce.example.com")
            missing = client.get("campaigns/delivery-logs/email-message-id/none@bounce.example.com")
            assert log.json()["data"]["record"]["subscriber_uid"] == "sub1" and missing.status_code == 404
            first = client.post("campaigns/cmp1/bounces", data={"subscriber_uid": "sub1", "bounce_type": "hard"})
            again = client.post("campaigns/cmp1/bounces", data={"subscriber_uid": "sub1", "bounce_type": "hard"})
            put = client.put("lists/subscribers/unsubscribe-by-email-from-all-lists", data={"EMAIL": "a@example.org"})
        assert (first.status_code, again.status_code, put.status_code) == (201, 422, 200)
        assert api.bounces == [{"campaign_uid": "cmp1", "subscriber_uid": "sub1", "bounce_type": "hard",
                                "message": ""}]
        assert api.unsubscribed == ["a@example.org"]
