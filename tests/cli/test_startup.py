"""Start-up stays fast: `ee --help` loads none of the heavy libraries, `--version` not even
Typer; and every command's --help renders (lazy imports must not hide broken commands)."""

import subprocess
import sys

import pytest

# rich is allowed: Typer renders the help with it.
HEAVY = ("sqlalchemy", "httpx", "dns", "psycopg", "pymysql", "jwt", "prometheus_client", "alembic",
         "pydantic_settings", "cryptography", "matplotlib")


def _loaded_after(code: str) -> set[str]:
    probe = f"""
import sys
sys.argv = {code!r}.split()
try:
    from emailengine.__main__ import main
    main()
except SystemExit:
    pass
print("MODULES=" + ",".join(sorted({{m.split(".")[0] for m in sys.modules}})), file=sys.stderr)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("MODULES=")][-1]
    return set(line.removeprefix("MODULES=").split(","))


def test_root_help_loads_not_even_typer():
    loaded = _loaded_after("ee --help")
    assert not loaded & {"typer", *HEAVY}, sorted(loaded & {"typer", *HEAVY})


def test_typer_rendered_help_loads_no_heavy_library():
    # Rendering every group's help imports every cli/ module: none may import a heavy library.
    for command in ("ee ip --help", "ee config --help", "ee demo --help"):
        loaded = _loaded_after(command)
        assert "typer" in loaded
        assert not loaded & set(HEAVY), (command, sorted(loaded & set(HEAVY)))


def test_version_does_not_import_typer():
    loaded = _loaded_after("ee --version")
    assert "typer" not in loaded and "emailengine" in loaded


def _all_commands():
    import typer.main

    from emailengine.cli import app

    group = typer.main.get_command(app)
    stack = [((), group)]
    found = []
    while stack:
        path, command = stack.pop()
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            stack.append(((*path, name), sub))
    return sorted(found)


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "ee")
def test_every_command_has_help(cli, path):
    result = cli(*path, "--help")
    assert result.exit_code == 0, result
    assert "Usage" in result.stdout
