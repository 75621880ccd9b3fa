"""`ee dns ...`: SPF evaluation, DNS validation of domains and IPs, records to publish."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, exit_for_job, print_json, print_lines, print_table

app = typer.Typer(help="DNS: SPF/DKIM/DMARC/PTR validation and the records to publish.", no_args_is_help=True)

_STYLE = {"ok": "[green]ok[/green]", "warning": "[yellow]warning[/yellow]", "error": "[red]error[/red]"}


@app.command("spf-check")
def spf_check(
    ip: Annotated[str, typer.Option("--ip", help="Client IP address to evaluate.")],
    domain: Annotated[str, typer.Option("--domain", help="Domain whose SPF record is evaluated.")],
    sender: Annotated[str, typer.Option("--sender", help="MAIL FROM address (default postmaster@DOMAIN).")] = "",
    helo: Annotated[str, typer.Option("--helo", help="HELO/EHLO name (default DOMAIN).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Evaluate RFC 7208 check_host() and print the result, explanation and lookup trail."""
    from emailengine.dnscheck.run import spf_check as evaluate

    data = evaluate(ip, domain, sender, helo)
    if as_json:
        print_json(data)
        return
    typer.echo(f"result: {data['result']}")
    typer.echo(f"explanation: {data['explanation']}")
    typer.echo(f"lookups: {data['lookups']}/10, void lookups: {data['void_lookups']}/2")
    typer.echo("trail:")
    for line in data["trail"]:
        typer.echo(f"  {line}")


@app.command("validate")
def validate(
    domains: Annotated[list[str] | None, typer.Argument(help="Domains to check (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate SPF, DKIM, DMARC, PTR/HELO and MX for domains and sending IPs (job dns-validate).

    Exit 1 when any check is an error.
    """
    from emailengine.dnscheck.run import validate as run_validation

    ctx, report = run_validation(domains or None)
    if as_json:
        print_json(report.to_dict())
    else:
        rows = [{"subject": f.subject, "check": f.check, "status": _STYLE[f.status], "message": f.message,
                 "fix": f.fix} for f in report.findings]
        print_table(rows, ["subject", "check", "status", "message", "fix"], title="DNS validation",
                    empty="nothing to validate (no domains in the inventory)")
        print_lines(_readiness_lines(report.readiness))
    exit_for_job(ctx)


def _readiness_lines(verdicts: list[dict]) -> list[str]:
    lines = []
    for verdict in verdicts:
        lines.append(f"[bold]{verdict['domain']}[/bold]: bulk-sender readiness {verdict['verdict']}")
        for provider in verdict["providers"].values():
            missing = ", ".join(provider["missing"]) or "-"
            lines.append(f"  {provider['title']}: {'ready' if provider['ready'] else 'missing ' + missing}")
        lines.append(f"  ({verdict['not_checked']})")
    return lines


@app.command("records")
def records(domain: str, as_json: JsonOption = False) -> None:
    """Print the DNS records to publish for DOMAIN (SPF, DKIM, DMARC, PTRs to request)."""
    from emailengine.dnscheck.run import records_for

    rows = records_for(domain)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        for note in row["notes"]:
            typer.echo(f"; NOTE: {note}")
        if row["zone"]:
            typer.echo(row["zone"].rstrip("\n"))
        typer.echo("")
