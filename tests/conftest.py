import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TOY_CONFIG = str(FIXTURES / "toy_config.py")

# The toy research module lives outside research/: it is found through FRONTIER_MODULES.
os.environ.setdefault("FRONTIER_MODULES", "toymod")
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))


def frontier_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FIXTURES), env.get("PYTHONPATH", "")])
    env["FRONTIER_MODULES"] = "toymod"
    env.pop("XLA_FLAGS", None)
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
