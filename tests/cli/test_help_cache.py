"""The pre-rendered root help printed by the entry shim equals what Typer renders."""

import subprocess
import sys

from emailengine.cli._help_cache import HELP_FILE, render_root_help


def test_cached_root_help_is_current():
    assert HELP_FILE.read_text() == render_root_help(), (
        "root help changed: run `python -m emailengine.cli._help_cache`")


def test_entry_shim_prints_it_without_arguments_too():
    for args in (["--help"], ["-h"], []):
        result = subprocess.run([sys.executable, "-m", "emailengine", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0
        assert result.stdout == HELP_FILE.read_text()
