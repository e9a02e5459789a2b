"""Fixtures for Tollgate's end-to-end tests.

The binary: ``$TOLLGATE_BIN`` if set, else ``swift build --product tollgate`` is run once per
session from the repository root and ``$(swift build --show-bin-path)/tollgate`` is used.

Fixtures
    fake, fake_b        session-wide fake upstreams (behaviour reset before every test)
    tollgate_bin        path of the binary
    make_gateway        factory: a fresh gateway per call, stopped at the end of the test
    gateway             a module-wide gateway on ``harness.standard_policies`` (fake)

A failing test gets the tail of every running gateway's log attached to its report.
Every test is also bounded by a watchdog (``E2E_TEST_TIMEOUT``, default 120 s) that dumps
all thread stacks and exits rather than hang the suite.
"""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from fake_upstream import FakeUpstream  # noqa: E402

TEST_TIMEOUT = float(os.environ.get("E2E_TEST_TIMEOUT", "120"))
BUILD_TIMEOUT = float(os.environ.get("E2E_BUILD_TIMEOUT", "3600"))


# ------------------------------------------------------------------ reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for gateway in list(harness.ACTIVE_GATEWAYS):
            report.sections.append((f"tollgate log ({gateway.name}, {gateway.workdir})", gateway.log_tail(80)))


@pytest.fixture(autouse=True)
def _watchdog():
    """Bound every test: dump stacks and exit if one runs past E2E_TEST_TIMEOUT."""
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# ------------------------------------------------------------------ the binary


@pytest.fixture(scope="session")
def tollgate_bin() -> Path:
    explicit = os.environ.get("TOLLGATE_BIN")
    if explicit:
        path = Path(explicit)
        assert path.is_file() and os.access(path, os.X_OK), f"TOLLGATE_BIN={explicit} is not an executable file"
        return path
    root = harness.REPO_ROOT
    build = subprocess.run(["swift", "build", "--product", "tollgate"], cwd=root, capture_output=True,
                           text=True, timeout=BUILD_TIMEOUT)
    if build.returncode != 0:
        tail = "\n".join((build.stdout + build.stderr).splitlines()[-60:])
        pytest.fail(f"swift build --product tollgate failed ({build.returncode}):\n{tail}", pytrace=False)
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=root, capture_output=True, text=True,
                             timeout=600, check=True).stdout.strip()
    path = Path(bin_dir) / "tollgate"
    assert path.is_file(), f"swift build succeeded but {path} does not exist"
    return path


# ------------------------------------------------------------------ fake upstreams


@pytest.fixture(scope="session")
def fake():
    with FakeUpstream(name="a") as upstream:
        yield upstream


@pytest.fixture(scope="session")
def fake_b():
    with FakeUpstream(name="b") as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def _reset_fakes(request):
    """Every test starts with normal behaviour and empty records on the fakes it uses."""
    for name in ("fake", "fake_b"):
        if name in request.fixturenames:
            upstream = request.getfixturevalue(name)
            upstream.reset_behavior()
            upstream.reset()
    yield


# ------------------------------------------------------------------ gateways


@pytest.fixture
def make_gateway(tollgate_bin, tmp_path):
    """Factory for gateways that live for one test: ``make_gateway(policies={...}, server={...})``."""
    started: list[harness.Gateway] = []

    def factory(*, start: bool = True, name: str | None = None, **kwargs) -> harness.Gateway:
        index = len(started)
        gateway = harness.Gateway(tollgate_bin, tmp_path / f"gw{index}", name=name or f"gw{index}", **kwargs)
        started.append(gateway)
        if start:
            gateway.start()
        return gateway

    yield factory
    for gateway in started:
        gateway.close()


@pytest.fixture(scope="module")
def gateway(request, tmp_path_factory, tollgate_bin, fake):
    """A module-wide gateway routing ``harness.standard_policies`` to the fake."""
    return harness.module_gateway(request, tmp_path_factory, tollgate_bin, fakes={"a": fake},
                                  policies={"10-standard.toml": harness.standard_policies(fake.base_url)})
