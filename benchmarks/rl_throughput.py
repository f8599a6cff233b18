"""PPO training throughput on CartPole-v1: ours (gymnax, jitted, seeds vmapped) vs SB3.

    python benchmarks/rl_throughput.py [--updates 40] [--seeds 1,8,64] [--sb3-steps 20480]

Environment steps per second of whole PPO training (rollouts, GAE, 4 epochs x 4 minibatches
of Adam steps), the same hyper-parameters on both sides (configs/rl/cartpole_ppo.py:
PureJaxRL's): 4 environments x 128 steps per update, 64x64 tanh actor and critic, Adam 2.5e-4
annealed, clip 0.2, GAE (0.99, 0.95), entropy 0.01, value 0.5, gradient norm 0.5.

- Ours: `research.rl.agents.PPO.step` (the step `frontier.loop` runs), `--updates` updates in
  one `lax.scan` per call, vmapped over S seeds (S = 1 runs unvmapped, as the loop does). One
  warm-up call compiles; the timed call is the next one (median of `--repeats`).
- Peer: Stable-Baselines3 PPO (PyTorch, CPU) on gymnasium's CartPole-v1 with 4 DummyVecEnv
  environments, n_steps=128, batch_size=128, n_epochs=4, the same network sizes and Tanh,
  orthogonal init, linear learning-rate schedule, one process, one torch thread
  (`--torch-threads`; on 2 loaded cores torch's default of 2 threads was 15x slower).
  `model.learn(--sb3-steps)` timed after a short warm-up learn.

Prints env steps/s per setting and the ratio to SB3 (needs the `bench` extra:
`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import numpy as np

from frontier.config import configs_root, load_config


def ours(num_seeds: int, updates: int, repeats: int) -> float:
    """Env steps/s of `updates` PPO updates on `num_seeds` vmapped seeds (compile excluded)."""
    from research.rl.agents import PPO

    cfg = load_config(str(configs_root() / "rl" / "cartpole_ppo.py"))
    exp = PPO(cfg)
    keys = jax.random.split(jax.random.key(0), num_seeds)
    if num_seeds == 1:
        init, step = exp.init, exp.step
        keys = keys[0]
    else:
        init, step = jax.vmap(exp.init), jax.vmap(exp.step, in_axes=(0, None, 0))

    def run(state, keys):
        def body(state, t):
            fold = lambda k: jax.random.fold_in(k, t)
            k = fold(keys) if num_seeds == 1 else jax.vmap(fold)(keys)
            state, metrics = step(state, None, k)
            return state, metrics["episode_return"]

        return jax.lax.scan(body, state, np.arange(updates))

    run = jax.jit(run, donate_argnums=0)
    state = jax.jit(init)(keys)
    state, _ = run(state, keys)  # compile
    jax.block_until_ready(state)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        state, ret = run(state, keys)
        jax.block_until_ready((state, ret))
        times.append(time.perf_counter() - t)
    steps = num_seeds * updates * exp.env_steps_per_update
    return steps / statistics.median(times)


def sb3(total_steps: int, repeats: int, threads: int) -> float:
    """Env steps/s of Stable-Baselines3 PPO with the same hyper-parameters."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    if threads > 0:
        torch.set_num_threads(threads)

    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=lambda progress: 2.5e-4 * progress,  # linear annealing to 0
        n_steps=128,
        batch_size=128,  # 4 x 128 transitions in 4 minibatches
        n_epochs=4,
        gamma=0.99,
        gae_lambda=0.95,
        clip_range=0.2,
        ent_coef=0.01,
        vf_coef=0.5,
        max_grad_norm=0.5,
        policy_kwargs={
            "net_arch": {"pi": [64, 64], "vf": [64, 64]},
            "activation_fn": torch.nn.Tanh,
        },
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(total_timesteps=2048)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.learn(total_timesteps=total_steps, reset_num_timesteps=True)
        times.append(time.perf_counter() - t)
    return total_steps / statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--updates", type=int, default=40, help="PPO updates per timed call (ours)")
    p.add_argument("--seeds", default="1,8,64", help="vmapped seed counts (ours)")
    p.add_argument("--sb3-steps", type=int, default=20480, help="env steps per SB3 timing")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--torch-threads", type=int, default=1, help="0: torch's default")
    args = p.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} "
        f"({jax.devices()[0].platform}), load average at start {load:.1f}"
    )
    peer = sb3(args.sb3_steps, args.repeats, args.torch_threads)
    import stable_baselines3
    import torch

    rows = [
        (
            f"Stable-Baselines3 {stable_baselines3.__version__} PPO "
            f"(torch {torch.__version__}, {torch.get_num_threads()} thread(s), 4 envs)",
            peer,
        )
    ]
    for s in (int(x) for x in args.seeds.split(",")):
        rows.append(
            (f"ours, {s} seed(s) vmapped (4 envs each)", ours(s, args.updates, args.repeats))
        )
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    print("\n| setting | env steps/s | ratio to SB3 |\n|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {rate / peer:.1f}x |")


if __name__ == "__main__":
    main()
