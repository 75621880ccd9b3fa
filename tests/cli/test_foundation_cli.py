"""The foundation's commands through Typer's runner: inventory, lifecycle, roles, audit,
settings, schema, and one-line errors with the documented exit codes."""

import json

import pytest
import sqlalchemy as sa


def test_ip_add_list_show_and_history(cli, use_db):
    assert cli("ip", "add", "192.0.2.10", "--hostname", "mta10.example.com", "--vmta", "v10").exit_code == 0
    assert cli("ip", "add", "2001:DB8::A", "--hostname", "mta6.example.com", "--vmta", "v6", "--pool", "p6",
               "--state", "active").exit_code == 0
    listed = cli("ip", "list", "--json").json()
    assert [(ip["address"], ip["state"]) for ip in listed] == [("192.0.2.10", "WARMING"), ("2001:db8::a", "ACTIVE")]
    assert [ip["address"] for ip in cli("ip", "list", "--state", "active", "--json").json()] == ["2001:db8::a"]
    assert cli("ip", "set-state", "192.0.2.10", "STANDBY", "--reason", "listed on zen").exit_code == 0
    shown = cli("ip", "show", "192.0.2.10", "--json").json()
    assert shown["ip"]["state"] == "STANDBY"
    assert [(h["from"], h["to"]) for h in shown["history"]] == [(None, "WARMING"), ("WARMING", "STANDBY")]
    assert shown["history"][1]["reason"] == "listed on zen"


def test_bad_input_gives_one_line_and_exit_2_and_writes_nothing(cli, use_db):
    cli("ip", "add", "192.0.2.10", "--hostname", "mta10.example.com", "--vmta", "v10")
    cases = [
        (["ip", "add", "192.0.2.300", "--hostname", "a.example.com", "--vmta", "x"], "invalid IP address"),
        (["ip", "add", "192.0.2.10", "--hostname", "a.example.com", "--vmta", "x"], "already in the inventory"),
        (["ip", "add", "192.0.2.11", "--hostname", "a.example.com", "--vmta", "v10"], "already in the inventory"),
        (["ip", "set-state", "192.0.2.10", "RESTED", "--reason", "x"], "unknown state"),
        (["ip", "set-state", "192.0.2.10", "QUARANTINE", "--reason", "x"], "illegal transition"),
        (["ip", "show", "192.0.2.99"], "not in the inventory"),
        (["domain", "add", "not a domain"], "invalid domain"),
        (["users", "set-role", "nobody", "admin"], "does not exist"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, result)
        assert "Traceback" not in result.output
    assert [ip["address"] for ip in cli("ip", "list", "--json").json()] == ["192.0.2.10"]


def test_csv_import_is_all_or_nothing(cli, use_db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("ip,hostname,vmta,pool\n" + "".join(
        f"198.51.100.{i},mta{i}.example.net,vmta-{i},main\n" for i in range(1, 255)))
    result = cli("ip", "import", str(good), "--json")
    assert result.exit_code == 0 and result.json()["added"] == 254
    bad = tmp_path / "bad.csv"
    bad.write_text("ip,hostname,vmta\n203.0.113.1,mta1.example.org,w1\n203.0.113.2,mta2.example.org,vmta-7\n"
                   "not-an-ip,mta3.example.org,w3\n")
    result = cli("ip", "import", str(bad))
    assert result.exit_code == 2
    assert "line 4" in result.stderr
    result = cli("ip", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    assert len(cli("ip", "list", "--json").json()) == 254
    # the whole import is refused when one row clashes with the inventory (vmta-7 exists)
    clash = tmp_path / "clash.csv"
    clash.write_text("ip,hostname,vmta\n203.0.113.1,mta1.example.org,w1\n203.0.113.2,mta2.example.org,vmta-7\n")
    assert cli("ip", "import", str(clash)).exit_code == 2
    assert len(cli("ip", "list", "--json").json()) == 254


def test_domains(cli, use_db):
    assert cli("domain", "add", "Bücher.Example", "--dkim-selector", "s1", "--dkim-key", "/etc/pmta/s1.pem",
               "--return-path-domain", "bounce.bücher.example").exit_code == 0
    assert cli("domain", "add", "xn--bcher-kva.example").exit_code == 2
    assert cli("domain", "add", "half.example", "--dkim-selector", "s1").exit_code == 2
    shown = cli("domain", "show", "bücher.example", "--json").json()
    assert shown["name"] == "xn--bcher-kva.example" and shown["return_path_domain"] == "bounce.xn--bcher-kva.example"
    assert cli("domain", "remove", "bücher.example").exit_code == 0
    assert cli("domain", "list", "--json").json() == []


def test_roles_admin_only_commands_and_first_admin(cli, use_db, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    assert cli("users", "add", "alice", "--role", "admin").exit_code == 0  # first admin: bootstrap
    assert cli("users", "add", "bob", "--role", "user").exit_code == 0
    monkeypatch.setenv("SUDO_USER", "bob")
    denied = cli("ip", "add", "192.0.2.1", "--hostname", "mta1.example.com", "--vmta", "v1")
    assert denied.exit_code == 2 and "needs admin" in denied.stderr
    assert cli("users", "add", "carol", "--role", "admin").exit_code == 2
    assert cli("audit", "log").exit_code == 2
    assert cli("ip", "list").exit_code == 0  # reading is for every operator
    monkeypatch.setenv("SUDO_USER", "mallory")
    assert "not an ee operator" in cli("ip", "add", "192.0.2.1", "--hostname", "m.example.com", "--vmta", "v").stderr
    monkeypatch.setenv("SUDO_USER", "alice")
    assert cli("users", "remove", "alice").exit_code == 2  # the last admin stays
    assert cli("users", "set-role", "bob", "admin").exit_code == 0
    users = {u["name"]: u["role"] for u in cli("users", "list", "--json").json()}
    assert users == {"alice": "admin", "bob": "admin"}
    log = cli("audit", "log", "--json", "--actor", "alice").json()
    assert [row["action"] for row in log] == ["users.add", "users.add", "users.set-role"]


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_audit_verify_detects_tampering(cli, use_db, tamper):
    for i in range(1, 5):
        cli("ip", "add", f"192.0.2.{i}", "--hostname", f"mta{i}.example.com", "--vmta", f"v{i}")
    assert cli("audit", "verify").exit_code == 0
    engine = sa.create_engine(use_db)
    with engine.begin() as connection:
        if tamper == "edit":
            connection.execute(sa.text("UPDATE audit_log SET actor='mallory' WHERE id=2"))
        elif tamper == "delete":
            connection.execute(sa.text("DELETE FROM audit_log WHERE id=2"))
        else:
            rows = connection.execute(sa.text("SELECT id, target, after FROM audit_log WHERE id IN (2,3) ORDER BY id")).all()
            for (row_id, _, _), (_, target, after) in zip(rows, reversed(rows), strict=True):
                connection.execute(sa.text("UPDATE audit_log SET target=:t, after=:a WHERE id=:i"),
                                   {"t": target, "a": after if isinstance(after, str) else json.dumps(after), "i": row_id})
    engine.dispose()
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    assert result.json()["broken_id"] in (2, 3)


def test_config_show_masks_secrets_and_check_reports_each_problem(cli, monkeypatch):
    monkeypatch.setenv("EE_TELEGRAM_BOT_TOKEN", "123456:very-secret")
    monkeypatch.setenv("EE_DATABASE_URL", "postgresql+psycopg://ee:hunter22@db.example/ee")
    shown = cli("config", "show", "--json")
    assert shown.exit_code == 0
    assert "very-secret" not in shown.stdout and "hunter22" not in shown.stdout
    assert shown.json()["EE_TELEGRAM_BOT_TOKEN"] == "********"
    monkeypatch.setenv("EE_PMTA_URL", "not a url")
    checked = cli("config", "check")
    assert checked.exit_code == 2
    assert "EE_PMTA_URL" in checked.stderr and "EE_TELEGRAM_CHAT_ID" in checked.stderr
    monkeypatch.setenv("EE_DNS_TIMEOUT", "soon")
    assert "EE_DNS_TIMEOUT" in cli("config", "check").stderr


def test_invalid_settings_stop_any_command_with_exit_2(cli, monkeypatch):
    monkeypatch.setenv("EE_DNS_TIMEOUT", "soon")
    result = cli("ip", "list")
    assert result.exit_code == 2 and result.stderr.startswith("error: EE_DNS_TIMEOUT")


def test_unreachable_database_exits_75(cli, monkeypatch):
    monkeypatch.setenv("EE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = cli("ip", "list")
    assert result.exit_code == 75 and "database unreachable" in result.stderr


@pytest.mark.postgres
def test_outdated_postgres_schema_says_run_db_upgrade(cli, pg_url, monkeypatch):
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    engine = create_engine_for(pg_url)
    upgrade(engine, "0001")
    engine.dispose()
    monkeypatch.setenv("EE_DATABASE_URL", pg_url)
    result = cli("ip", "list")
    assert result.exit_code == 2 and "run `ee db upgrade`" in result.stderr
    assert cli("db", "current", "--json").json()["current"] == "0001"
    assert cli("db", "upgrade").exit_code == 0
    assert cli("db", "current", "--json").json()["up_to_date"] is True
    assert cli("ip", "list", "--json").json() == []
    assert cli("db", "downgrade", "0001").exit_code == 0
    assert cli("db", "current", "--json").json()["current"] == "0001"


def test_sqlite_default_is_created_and_migrated_on_first_use(cli, isolated_env):
    assert cli("ip", "list", "--json").json() == []
    assert (isolated_env / "data" / "emailengine" / "ee.db").is_file()


def test_config_check_warns_when_the_bounce_scanner_is_not_compiled(cli, monkeypatch):
    from emailengine.bounces import fingerprints

    built = cli("config", "check", "--json").json()
    assert not any("compiled scanner" in w for w in built["warnings"])
    monkeypatch.setattr(fingerprints, "ACCEL", None)
    missing = cli("config", "check", "--json").json()
    assert any("compiled scanner is not built" in w for w in missing["warnings"])
