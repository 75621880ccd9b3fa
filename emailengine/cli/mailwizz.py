"""`ee sync-quotas` (hourly job) and `ee mailwizz check`: MailWizz delivery servers."""

from __future__ import annotations

import typer

from emailengine.cli._shared import DryRunOption, JsonOption, exit_for_job, fail, print_json, print_table

app = typer.Typer()
mailwizz_app = typer.Typer(help="MailWizz: check the database and REST API paths.", no_args_is_help=True)
app.add_typer(mailwizz_app, name="mailwizz")

CHANGE_COLUMNS = ["server", "ip", "state", "status", "hourly", "daily", "why"]


@app.command("sync-quotas")
def sync_quotas(dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Set each mapped MailWizz delivery server's status and quotas from its IP's state (admin).

    Writes only differences, in one transaction. MailWizz caches remaining quota for up to 300 s.
    """
    from emailengine.integrations.mailwizz.sync import plan_rows
    from emailengine.integrations.mailwizz.sync import sync_quotas as sync
    from emailengine.jobs import run_job

    with run_job("sync-quotas") as ctx:
        report = sync(ctx.settings, ctx.engine, ctx.actor, dry_run=dry_run)
        ctx.summary.update(changes=len(report["changes"]), skipped=len(report["skipped"]),
                           unchanged=report["unchanged"], dry_run=dry_run)
    if as_json:
        print_json(report)
    else:
        verb = "would change" if dry_run else "changed"
        print_table(plan_rows(report), CHANGE_COLUMNS, title=f"delivery servers ({verb})",
                    empty=f"no changes ({report['unchanged']} servers already match)")
        if report["skipped"]:
            print_table(report["skipped"], ["server_id", "ip", "state", "reason"], title="skipped")
        for line in report.get("readback") or []:
            typer.echo(line)
        typer.echo(f"note: {report['note']}")
    exit_for_job(ctx)


@mailwizz_app.command("check")
def check(as_json: JsonOption = False) -> None:
    """Test the MailWizz database path (quota writes) and the REST API path; say which work.

    Exit 0 when every configured path works, 75 when one is down, 2 when none is configured.
    """
    from emailengine.cli._shared import settings
    from emailengine.integrations.mailwizz.sync import check as check_

    config = settings()
    rows = check_(config)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["path", "ok", "detail"], title="MailWizz")
    configured = [r for r in rows if "not set" not in r["detail"]]
    if not configured:
        fail("MailWizz is not configured", "set EE_MAILWIZZ_DB_URL and/or EE_MAILWIZZ_API_URL")
    if any(r["ok"] != "yes" for r in configured):
        raise typer.Exit(75)
