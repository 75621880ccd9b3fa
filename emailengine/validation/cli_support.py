"""Output of `ee validate email`: a table for a few addresses, a stream for files.

For files, results are written as they come (JSON: one array written element by element;
text: tab-separated `verdict  address  reasons` lines), so memory stays bounded; a progress bar
is drawn on stderr only when stderr is a terminal.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


def _open_lines(file: Path) -> Iterator[str]:
    if str(file) == "-":
        yield from sys.stdin
        return
    with file.open(encoding="utf-8", errors="replace") as handle:
        yield from handle


def _count_lines(file: Path) -> int | None:
    if str(file) == "-":
        return None
    with file.open("rb") as handle:
        return sum(1 for _ in handle)


def run_validation(addresses: list[str], file: Path | None, as_json: bool, out: IO[str],
                   print_table: Callable[..., None]) -> dict[str, int]:
    """Validate the addresses (or the file's lines), write the results, return counts per verdict."""
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.validation.run import validate_stream

    settings = get_settings()
    engine = database_engine()
    counts: Counter[str] = Counter()
    if file is None:
        results = [r.as_dict() for r in validate_stream(addresses, settings, engine)]
        counts.update(r["verdict"] for r in results)
        if as_json:
            out.write(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        else:
            rows = [{**r, "reasons": "; ".join(r["reasons"])} for r in results]
            print_table(rows, ["address", "verdict", "dns", "reasons"], title="address validation")
        return dict(counts)
    with _progress(_count_lines(file)) as advance:
        stream = validate_stream(_open_lines(file), settings, engine, progress=advance)
        _write_stream(stream, as_json, out, counts)
    return dict(counts)


def _write_stream(stream: Iterator[Any], as_json: bool, out: IO[str], counts: Counter[str]) -> None:
    first = True
    if as_json:
        out.write("[")
    for result in stream:
        counts[result.verdict] += 1
        if as_json:
            out.write(("\n" if first else ",\n") + json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            out.write(f"{result.verdict}\t{result.address}\t{'; '.join(result.reasons)}\n")
        first = False
    if as_json:
        out.write("\n]\n")
    out.flush()


class _progress:
    """A rich progress bar on stderr when it is a terminal; a no-op otherwise."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if not sys.stderr.isatty():
            return lambda _n: None
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("validating", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
