"""Build hook: compile emailengine/bounces/_accel.c, the bounce pipe's hot path (issue 3).

A plain C extension against the Python headers (no library beyond libc/libm), compiled with the
interpreter's own compiler settings. An editable install (`pip install -e .`) builds it in place
next to its source; a wheel gets it as a platform file. When no compiler is available the build
warns and goes on: `ee` then runs the same pipeline in pure Python (correct, several times slower),
and `ee config check` says so.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "emailengine/bounces/_accel.c"


def compile_extension(source: Path, target: Path) -> str | None:
    """Compile the module; return None on success, else the compiler's complaint."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    command = [*compiler, "-O3", "-fPIC", "-shared", "-Wall", "-Wno-unused-parameter", f"-I{include}",
               str(source), "-o", str(target), "-lm"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as error:
        return str(error)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


class AccelBuildHook(BuildHookInterface):
    """Compile the accelerator for wheel and editable builds."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        source = Path(self.root) / SOURCE
        name = "_accel" + sysconfig.get_config_var("EXT_SUFFIX")
        if version == "editable":
            target = source.with_name(name)
        else:
            target = Path(tempfile.mkdtemp(prefix="ee-accel-")) / name
        problem = compile_extension(source, target)
        if problem:
            self.app.display_warning(f"emailengine: the C accelerator did not compile, using pure Python: {problem}")
            return
        if version != "editable":
            build_data["force_include"][str(target)] = f"emailengine/bounces/{name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
