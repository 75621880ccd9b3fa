"""docs/cli.md, the generated CLI reference, equals what the app renders today."""

from emailengine.cli._reference import REFERENCE, command_paths, render_reference


def test_cli_reference_is_current():
    assert REFERENCE.read_text() == render_reference(), "run `python -m emailengine.cli._reference`"


def test_reference_covers_every_job_in_the_design_table():
    paths = {" ".join(path) for path in command_paths()}
    for command in ("health", "metrics update", "forward retry", "sync-quotas", "blacklist scan",
                    "warmup tick", "quarantine release", "dns validate", "rotate", "bounce-pipe", "demo"):
        assert command in paths, command
