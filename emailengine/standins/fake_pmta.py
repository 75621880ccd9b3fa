"""A fake `pmta` command for tests and `ee demo` (powermta.md §2.9, §3.1).

    python -m emailengine.standins.fake_pmta --state DIR test config | reload | show status [--json]

Every call is appended to DIR/calls.log. Switch files in DIR make it fail:
`fail-test` / `fail-reload` (empty = always, or a number = the next N calls), and `no-test`
(answers like a pmta without `test config`). `test config` also parses EE_PMTA_MANAGED_CONFIG
(when set and present) with ee's parser and reports `Error in line N of FILE: ...` like PowerMTA.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _switch(state: Path, name: str) -> bool:
    """Whether switch `name` is on now (consuming one use of a counted switch)."""
    path = state / name
    if not path.exists():
        return False
    text = path.read_text().strip()
    if not text:
        return True
    left = int(text)
    if left <= 0:
        return False
    path.write_text(str(left - 1))
    return True


def _test_config(state: Path) -> int:
    if _switch(state, "no-test"):
        print("Unknown command: test")
        return 1
    if _switch(state, "fail-test"):
        print("Error in line 3 of /etc/pmta/ee-managed.conf: argument missing")
        return 1
    managed = os.environ.get("EE_PMTA_MANAGED_CONFIG")
    if managed and Path(managed).exists():
        from emailengine.integrations.powermta.config import ConfigParseError, parse

        try:
            parse(Path(managed).read_text(encoding="utf-8"), managed)
        except ConfigParseError as exc:
            print(f"Error in {exc.message}")
            return 1
    print("Configuration OK.")
    return 0


def main(argv: list[str]) -> int:
    state = Path(os.environ.get("EE_FAKE_PMTA_DIR", "."))
    if len(argv) >= 2 and argv[0] == "--state":
        state, argv = Path(argv[1]), argv[2:]
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "calls.log", "a", encoding="utf-8") as log:
        log.write(" ".join(argv) + "\n")
    words = [a for a in argv if not a.startswith("--")]
    if words[:2] == ["test", "config"]:
        return _test_config(state)
    if words[:1] == ["reload"]:
        if _switch(state, "fail-reload"):
            print("Error: reload failed: Parse error in line 7 of /etc/pmta/config: unknown directive")
            return 1
        print("Configuration reloaded.")
        return 0
    if words[:2] == ["show", "status"]:
        if "--json" in argv:
            print(json.dumps({"data": {"status": {"status": "running"}}, "status": "success", "message": ""}))
        else:
            print("PowerMTA (fake) status: running")
        return 0
    print(f"Unknown command: {' '.join(words)}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
