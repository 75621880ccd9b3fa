"""The root `ee --help` text, pre-rendered.

Rendering Typer's root help costs ~300 ms here (importing Typer, rich and every command
module, then laying out the panels) — over the 15x-bare-Python budget for `ee --help`. The
entry shim prints this file instead; `tests/cli/test_help_cache.py` fails when it differs from
what Typer renders, and `python -m emailengine.cli._help_cache` rewrites it. Every other help
page (`ee ip --help`, ...) is rendered live by Typer.
"""

from __future__ import annotations

from pathlib import Path

HELP_FILE = Path(__file__).with_name("root_help.txt")


def render_root_help() -> str:
    """Return the root help exactly as Typer renders it without a terminal (80 columns, no colour)."""
    import os

    from typer.testing import CliRunner

    from emailengine.cli import app

    env = {"COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1"}
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return CliRunner().invoke(app, ["--help"], terminal_width=80, color=False).stdout
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


if __name__ == "__main__":
    HELP_FILE.write_text(render_root_help())
    print(f"wrote {HELP_FILE}")
