"""rl: smoke runs of every config (through the reproductions), PPO learns CartPole, DQN
kill-and-resume equals an uninterrupted run, GAE and returns by hand, bad input is named."""

import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from frontier.config import load_config
from frontier.loop import run_config
from frontier.metrics import read_metrics
from research.rl import agents, envs, policies
from research.rl.reproduce import reproduce_acrobot, reproduce_cartpole
from tests.conftest import ROOT, frontier_env

PPO = "configs/rl/cartpole_ppo.py:smoke"
DQN = "configs/rl/cartpole_dqn.py:smoke"
QUANTUM = "configs/rl/cartpole_quantum.py:smoke"


@pytest.mark.parametrize(
    "spec, overrides, match",
    [
        (PPO, ["env.name=CartPole-v9"], "unknown environment 'CartPole-v9'.*CartPole-v1"),
        (PPO, ["env.name=cartpole"], "did you mean CartPole-v1"),
        (DQN, ["env.name=Pendulum-v1"], "DQN here needs a discrete action space"),
        (PPO, ["env.name=Pendulum-v1"], "PPO here needs a discrete action space"),
        (PPO, ["algo.rollout_length=0"], "algo.rollout_length must be a positive integer"),
        (PPO, ["env.num_envs=-1"], "env.num_envs must be a positive integer"),
        (PPO, ["algo.epochs=0"], "algo.epochs must be a positive integer"),
        (DQN, ["algo.batch_size=0"], "algo.batch_size must be a positive integer"),
        (DQN, ["algo.batch_size=800"], "exceeds algo.buffer_capacity=400"),
        (PPO, ["algo.minibatches=3"], "algo.minibatches=3 does not divide the batch of .* 64"),
        (DQN, ["algo.buffer_capacity=401"], "must be a multiple of env.num_envs"),
        (PPO, ["model.actor=transformer"], "model.actor must be 'mlp' or 'quantum'"),
        (QUANTUM, ["env.name=Acrobot-v1"], "the quantum policy has two actions"),
        (QUANTUM, ["model.qubits=3"], "observation has 4 features, so set model.qubits=4"),
    ],
)
def test_bad_input_is_named(tmp_path, spec, overrides, match):
    with pytest.raises(ValueError, match=match):
        run_config(spec, tmp_path / "run", overrides, progress=False)
    assert not (tmp_path / "run" / "checkpoints").exists()  # refused before any work


@pytest.mark.parametrize(
    "path", sorted((ROOT / "configs" / "rl").glob("*.py")), ids=lambda p: p.stem
)
def test_full_configs_are_consistent(path):
    """The full variants (not run here): periods divide the steps, the experiment builds."""
    from frontier import registry
    from frontier.loop import check_steps_per_call

    cfg = load_config(str(path))
    check_steps_per_call(cfg.train)
    exp = registry.get_experiment(cfg.experiment).obj(cfg)
    assert exp.env_steps_per_update * cfg.train.steps >= 100_000


def test_gae_and_returns_match_a_hand_computation():
    # One environment, 4 steps: the episode terminates at t=1, the time limit cuts it at t=3.
    traj = {
        "reward": jnp.array([[1.0], [2.0], [3.0], [4.0]]),
        "value": jnp.array([[0.5], [0.25], [1.0], [2.0]]),
        "next_value": jnp.array([[0.25], [9.0], [2.0], [10.0]]),
        "terminated": jnp.array([[0.0], [1.0], [0.0], [0.0]]),
        "done": jnp.array([[0.0], [1.0], [0.0], [1.0]]),
    }
    g, lam = 0.9, 0.5
    d3 = 4 + g * 10 - 2  # cut by the time limit: bootstrapped from V(s'_3)
    d2 = 3 + g * 2 - 1
    d1 = 2 - 0.25  # terminal: no bootstrap
    d0 = 1 + g * 0.25 - 0.5
    adv3, adv2 = d3, d2 + g * lam * d3
    adv1 = d1  # the advantage does not cross the episode end
    adv0 = d0 + g * lam * adv1
    adv, targets = agents.gae(traj, g, lam)
    np.testing.assert_allclose(adv[:, 0], [adv0, adv1, adv2, adv3], rtol=1e-6)
    np.testing.assert_allclose(targets[:, 0], adv[:, 0] + traj["value"][:, 0], rtol=1e-6)
    ret = agents.discounted_returns(traj, g)
    np.testing.assert_allclose(ret[:, 0], [1 + g * 2, 2, 3 + g * (4 + g * 10), 4 + g * 10])


def test_env_pool_reports_truncation_apart_from_termination():
    pool = envs.EnvPool("CartPole-v1", 3)
    carry = pool.reset(jax.random.key(0))
    assert carry.obs.shape == (3, 4) and pool.obs_size == 4
    step = jax.jit(pool.step)
    # Push right for ever: every episode terminates (the pole falls) well before 500 steps.
    ends = 0
    for t in range(60):
        carry, out = step(carry, jnp.ones(3, jnp.int32), jax.random.key(t))
        np.testing.assert_array_equal(out["terminated"], out["done"])
        ends += int(out["done"].sum())
        # the return of an ended episode is its length (reward 1 per step)
        assert set(np.asarray(out["final_return"])[np.asarray(out["done"]) > 0]) <= set(
            range(5, 60)
        )
    assert ends >= 3 and int(carry.episodes) == ends
    # At the time limit the episode is done but not terminated (so it is bootstrapped).
    carry = pool.reset(jax.random.key(1))
    carry = carry.replace(env_state=carry.env_state.replace(time=jnp.full(3, 499)))
    carry, out = step(carry, jnp.zeros(3, jnp.int32), jax.random.key(99))
    np.testing.assert_array_equal(out["done"], 1.0)
    np.testing.assert_array_equal(out["terminated"], 0.0)
    np.testing.assert_array_equal(out["final_return"], 1.0)  # one step of this episode counted


def test_quantum_policy_is_a_differentiable_softmax_over_plus_minus_parity():
    init, apply = policies.quantum_policy(qubits=4, layers=1, num_actions=2, obs_size=4)
    params = init(jax.random.key(0), 4)
    assert policies.count_params(params) == 2 * 4 * 2 + 4 + 2
    obs = jnp.array([0.1, -0.2, 0.05, 0.3])
    logits = apply(params, obs)  # eager: nothing to compile
    # logits are w * (<O>, -<O>) with |<O>| <= 1 and w initialised to 1
    assert float(logits[0]) == -float(logits[1]) and 0 < abs(float(logits[0])) <= 1
    other = apply(params, jnp.array([1.0, 0.5, -0.4, -1.0]))
    assert abs(float(other[0] - logits[0])) > 1e-3  # the observation is encoded
    grads = jax.grad(lambda p: jax.nn.log_softmax(apply(p, obs))[0])(params)
    assert all(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads))


def _check_run(result, low, high):
    values = np.asarray(result.final["return"])
    assert values.shape == (len(result.seeds),)
    assert np.all((values >= low) & (values <= high)), values


def test_cartpole_reproduction_smoke_runs_every_cartpole_config(tmp_path):
    # One seed each (a vmap of two compiles about 1.5x longer); breakout_ppo below runs two.
    table = reproduce_cartpole(tmp_path, smoke=True, seeds=1)
    assert len(table.results) == 5
    for r in table.results:
        assert r.seeds == 1 and r.returns.shape == (1, 4)
        assert np.all((r.final_eval >= 1) & (r.final_eval <= 500)), r.final_eval
        rows = read_metrics(tmp_path / r.config.removesuffix(".py"))
        train_rows = [x for x in rows if x["split"] == "train"]
        assert sorted({x["step"] for x in train_rows}) == [1, 2, 3, 4]
        cfg = load_config(str(ROOT / "configs" / "rl" / r.config) + ":smoke")
        per_update = cfg.env.num_envs * cfg.algo.rollout_length
        np.testing.assert_array_equal(r.env_steps, per_update * np.arange(1, 5))
    # DQN: no gradient step before learning_starts (80 env steps = the second loop step),
    # epsilon decays linearly with env steps.
    dqn = sorted(
        (r for r in read_metrics(tmp_path / "cartpole_dqn") if r["split"] == "train"),
        key=lambda r: (r["step"], r["seed"]),
    )
    assert [r["l2_updates"] == 0 for r in dqn] == [True, False, False, False]
    np.testing.assert_allclose(dqn[-1]["epsilon"], 1.0 - 0.95 * 160 / 100_000, rtol=1e-6)
    params = {r.method: r.actor_params for r in table.results}
    assert params["PPO, quantum policy (4 qubits, 5 layers)"] == 2 * 4 * 2 + 4 + 2  # 1 layer
    assert params["PPO, classical actor of similar size (4-10-2)"] == 72
    text = table.to_markdown()
    assert "| PPO, 64x64 tanh actor |" in text and "SMOKE RUN" in text
    assert (tmp_path / "plots" / "cartpole_return.png").stat().st_size > 10_000


def test_acrobot_and_minatar_smoke(tmp_path):
    table = reproduce_acrobot(tmp_path, smoke=True, seeds=1)
    for r in table.results:
        assert np.all((r.final_eval >= -500) & (r.final_eval <= 0)), r.final_eval
    # 4 smoke updates of 64 steps: no Acrobot episode has ended yet (they last 500 steps
    # unless swung up), so there is no training return, and the threshold is not reached.
    for r in table.results:
        assert np.isnan(r.returns).all()
    assert table.to_markdown().count("not reached") == 2
    result = run_config(
        "configs/rl/breakout_ppo.py:smoke", tmp_path / "breakout", seeds=2, progress=False
    )
    _check_run(result, 0, 100)
    # the two vmapped seeds are different runs
    first = jax.tree.leaves(result.state.params["actor"])[0]
    assert not np.allclose(first[0], first[1])


def test_ppo_improves_cartpole_return_within_a_short_budget(tmp_path):
    # The smoke variant's shapes (4 envs x 16 steps per update), so its programs are reused.
    sets = ["train.steps=80", "train.eval_every=80", "train.checkpoint_every=80"]
    result = run_config(PPO, tmp_path, sets, seeds=1, progress=False)
    rows = [r for r in read_metrics(tmp_path) if r["split"] == "train"]
    assert max(r["env_steps"] for r in rows) == 80 * 4 * 16  # 5,120 environment steps
    rows = [r for r in rows if r["return_defined"] == 1]  # an episode has ended
    first = np.mean([r["episode_return"] for r in rows if r["step"] <= 10])
    last = np.mean([r["episode_return"] for r in rows if r["step"] > 70])
    # A random policy balances about 22 steps; 80 short updates more than triple the return.
    assert first < 40 and last > 3 * first, (first, last)
    assert np.mean(result.final["return"]) > 2 * first, result.final["return"]


DQN_SETS = ["train.steps=300", "train.log_every=10", "train.eval_every=300",
            "train.checkpoint_every=25"]  # fmt: skip


def test_dqn_kill_and_resume_equals_uninterrupted(tmp_path):
    full = run_config(DQN, tmp_path / "full", DQN_SETS, progress=False)
    work = tmp_path / "killed"
    args = ["run", DQN, "--workdir", str(work), "--no-progress"]
    args += [a for s in DQN_SETS for a in ("--set", s)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "frontier.cli", *args],
        cwd=ROOT,
        env=frontier_env(),  # with the run's compilation cache (tests/conftest.py)
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    ck = work / "checkpoints"
    while time.time() < deadline:
        if ck.is_dir() and any(p.name.isdigit() and int(p.name) >= 50 for p in ck.iterdir()):
            break
        assert proc.poll() is None, f"run ended before it was killed: {proc.stderr.read()}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = max(r["step"] for r in read_metrics(work))
    assert 50 <= killed_at < 300  # it really was killed mid-way
    with pytest.warns(RuntimeWarning, match="which is no longer running; taking the lock over"):
        resumed = run_config(DQN, work, DQN_SETS, progress=False)
    np.testing.assert_array_equal(full.final["return"], resumed.final["return"])
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)  # replay buffer, target net, optimiser, envs
    assert read_metrics(full.run_dir) == read_metrics(work)
    assert np.all(full.state.buffer_size == 400)  # 300 steps x 8 envs x 5 filled the ring
    # 1200 gradient steps, the target copied every 4: it equals the online network at the end.
    for p, t in zip(
        jax.tree.leaves(full.state.params), jax.tree.leaves(full.state.target_params), strict=True
    ):
        np.testing.assert_array_equal(p, t)
