import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TOY_CONFIG = str(FIXTURES / "toy_config.py")

# The toy research module lives outside research/: it is found through FRONTIER_MODULES.
os.environ.setdefault("FRONTIER_MODULES", "toymod")
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))

# One persistent XLA compilation cache for the whole test run, shared by the pytest-xdist
# workers and the `frontier` processes the tests start (they inherit these variables): many
# tests compile the same programs (an estimator's search, a smoke config's step), and each
# is compiled once per run instead of once per worker and process. Set before jax is
# imported, so it holds from the first compilation; removed when the run ends.
# (The workers inherit the controller's environment, so the controller's pid names the run.)
XLA_CACHE = Path(tempfile.gettempdir()) / f"frontier-test-xla-cache-{os.getpid()}"
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(XLA_CACHE)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"


# Tests compile far more than they run: LLVM's optimisation level 0 halves the compile time of
# the larger programs (a symbolic-regression fit: 28 s -> 17 s) and leaves the arithmetic
# as it is (no fast-math either way). The `frontier` processes the tests start get the same.
# FRONTIER_TEST_XLA_FLAGS replaces these flags (empty: XLA's defaults).
TEST_XLA_FLAGS = os.environ.get("FRONTIER_TEST_XLA_FLAGS", "--xla_backend_optimization_level=0")
if TEST_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{TEST_XLA_FLAGS} {os.environ.get('XLA_FLAGS', '')}".strip()


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):  # the controller, after all workers
        shutil.rmtree(XLA_CACHE, ignore_errors=True)


def frontier_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FIXTURES), env.get("PYTHONPATH", "")])
    env["FRONTIER_MODULES"] = "toymod"
    env["XLA_FLAGS"] = f"{TEST_XLA_FLAGS} {extra.pop('XLA_FLAGS', '')}".strip()
    env.update(extra)
    return env


def run_cli(*args, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m frontier.cli ARGS` in a fresh process (own jax, own devices)."""
    proc = subprocess.run(
        [sys.executable, "-m", "frontier.cli", *args],
        cwd=ROOT,
        env=env or frontier_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"frontier {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def toy_config():
    return TOY_CONFIG
