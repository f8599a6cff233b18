import pytest

import frontier
from frontier import registry
from tests.conftest import frontier_env, run_cli


def test_duplicate_names_are_an_error():
    @frontier.experiment("test/dup-once", "x")
    class A(frontier.Experiment):
        pass

    with pytest.raises(registry.RegistryError, match="already registered"):

        @frontier.experiment("test/dup-once", "y")
        class B(frontier.Experiment):
            pass


def test_unknown_name_suggests():
    with pytest.raises(registry.RegistryError, match="did you mean classic/linear"):
        registry.get_experiment("classic/linaer")


MODULE = """
import jax.numpy as jnp
import frontier

@frontier.experiment("outside/counter", "Counts steps (a module defined outside the repo)")
class Counter(frontier.Experiment):
    def init(self, key):
        return {"n": jnp.zeros(())}
    def step(self, state, batch, key):
        return {"n": state["n"] + 1}, {"loss": state["n"]}
    def evaluate(self, state, key):
        return {"count": state["n"]}
"""

CONFIG = '''
"""Counter config in a temporary directory."""
from frontier.config import base_config

def get_config(arg=None):
    return base_config("outside/counter", steps=5, log_every=1, eval_every=5, checkpoint_every=5)
'''


def test_module_in_temporary_directory_is_found(tmp_path):
    (tmp_path / "mymodule").mkdir()
    (tmp_path / "mymodule" / "__init__.py").write_text(MODULE)
    (tmp_path / "counter.py").write_text(CONFIG)
    env = frontier_env(PYTHONPATH=str(tmp_path), FRONTIER_MODULES="mymodule")
    listing = run_cli("list", env=env).stdout
    assert "outside/counter" in listing and "Counts steps" in listing
    assert "classic/linear" in listing  # the repository's own modules still register
    out = run_cli(
        "run",
        str(tmp_path / "counter.py"),
        "--workdir",
        str(tmp_path / "run"),
        "--no-progress",
        env=env,
    ).stdout
    assert "eval count: 5.0000" in out


def test_missing_module_is_named():
    env = frontier_env(FRONTIER_MODULES="no_such_module_xyz")
    proc = run_cli("list", env=env, check=False)
    assert proc.returncode == 2
    assert "could not import research module 'no_such_module_xyz'" in proc.stderr
