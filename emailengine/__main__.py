"""Console entry point.

`ee --version` and the root `ee --help` are answered here without importing Typer (start-up
budget: 3x and 15x a bare Python); everything else hands over to the Typer app in `emailengine.cli`.
"""

import sys


def main() -> None:
    """Run `ee` with the process arguments."""
    arguments = sys.argv[1:]
    if arguments == ["--version"]:
        from emailengine import __version__

        sys.stdout.write(f"ee {__version__}\n")
        return
    if arguments in ([], ["--help"], ["-h"]):
        # Pre-rendered from the Typer app (see cli/_help_cache.py; a test keeps it current).
        from pathlib import Path

        cached = Path(__file__).with_name("cli") / "root_help.txt"
        if cached.is_file():
            sys.stdout.write(cached.read_text())
            return
    from emailengine.cli import run

    run()


if __name__ == "__main__":
    main()
