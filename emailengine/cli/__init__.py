"""The root Typer app. Each command group lives in its own module and is added here.

Only typer and the standard library are imported at module level (anywhere under cli/):
`ee --help` must not load SQLAlchemy, httpx, dnspython and friends. A test enforces it.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from emailengine import __version__

app = typer.Typer(
    name="ee",
    help="Email Engine: IP lifecycle, warmup, blocklists, DNS, PowerMTA and bounce handling.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# (module under emailengine.cli, group name or None to merge its commands at the top level)
COMMAND_MODULES: tuple[tuple[str, str | None], ...] = (
    ("config", "config"),
    ("db", "db"),
    ("ip", "ip"),
    ("domain", "domain"),
    ("users", "users"),
    ("audit", "audit"),
    ("bounces", None),
    ("pmta", "pmta"),
    ("mailwizz", None),
    ("warmup", None),
    ("blacklist", "blacklist"),
    ("dns", "dns"),
    ("forward", None),
    ("keys", "keys"),
    ("ops", None),
    ("demo", None),
)


def _register() -> None:
    for module_name, group in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"emailengine.cli.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"emailengine.cli.{module_name}":
                continue  # a capability not built yet
            raise
        if group:
            app.add_typer(module.app, name=group)
        else:
            app.add_typer(module.app)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"ee {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Email Engine: run `ee COMMAND --help` for each command."""
    from emailengine.logs import setup_logging

    if debug:
        os.environ["EE_DEBUG"] = "1"
    log_format = os.environ.get("EE_LOG_FORMAT", "auto").lower()
    setup_logging(log_format if log_format in ("auto", "json", "text") else "auto",
                  "DEBUG" if debug else os.environ.get("EE_LOG_LEVEL", "INFO").upper())


_register()


def report_error(error: BaseException) -> tuple[int, str | None]:
    """Given an exception from a command, return (exit code, the one line for stderr)."""
    from emailengine.errors import EEError
    from emailengine.jobs import JobSkipped

    if isinstance(error, JobSkipped):
        return 0, f"{error}\n"
    if isinstance(error, EEError):
        return error.exit_code, f"error: {error.one_line()}\n"
    if isinstance(error, KeyboardInterrupt):
        return 130, "error: interrupted\n"
    message = " ".join(str(error).split())[:300]
    return 1, f"error: unexpected {type(error).__name__}: {message} (run with --debug for details)\n"


def run() -> None:
    """Run the app, turning every exception into one line on stderr and an exit code."""
    debug = "--debug" in sys.argv or os.environ.get("EE_DEBUG") == "1"
    try:
        app()
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - the one edge for surprises
        code, line = report_error(error)
        if debug and code not in (0, 130):
            raise
        if line:
            sys.stderr.write(line)
        sys.exit(code)
