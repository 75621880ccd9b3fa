"""Console entry point.

`ee --version` is answered here without importing Typer (it is run by scripts and monitoring
many times a day); everything else hands over to the Typer app in `emailengine.cli`.
"""

import sys


def main() -> None:
    """Run `ee` with the process arguments."""
    if sys.argv[1:] == ["--version"]:
        from emailengine import __version__

        sys.stdout.write(f"ee {__version__}\n")
        return
    from emailengine.cli import run

    run()


if __name__ == "__main__":
    main()
