"""Tests that need a system tool skip without it on a developer machine, saying which package
provides it; under CI (EE_TEST_REQUIRE_SERVERS=1, set by .ci/run, which installs them) they fail."""

import os
import shutil

import pytest


def require_tools(*tools: str, package: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} (Debian package: {package})"
    if os.environ.get("EE_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " — .ci/run must install it")
    pytest.skip(message)
