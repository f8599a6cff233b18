"""Shared pieces of the rl configs (imported by the files in configs/rl/)."""

from __future__ import annotations

import ml_collections

from frontier.config import base_config, smoke_variant


def _train(experiment: str, steps: int, smoke: bool, log_every: int, evals: int = 4):
    steps = 4 if smoke else steps
    log_every = 1 if smoke else log_every
    eval_every = steps if smoke else max(log_every, (steps // evals) // log_every * log_every)
    return base_config(
        experiment,
        steps=steps,
        log_every=log_every,
        eval_every=eval_every,
        checkpoint_every=steps if smoke else eval_every,
        steps_per_call=1 if smoke else log_every,
    )


def ppo_config(arg: str | None, env: str = "CartPole-v1", **changes) -> ml_collections.ConfigDict:
    """PureJaxRL's CartPole PPO hyper-parameters: 4 envs x 128 steps, 4 epochs x 4 minibatches,
    Adam 2.5e-4 annealed, clip 0.2, GAE (0.99, 0.95), entropy 0.01, 64x64 tanh; 5e5 env steps.
    """
    smoke = smoke_variant(arg)
    cfg = _train("rl/ppo", changes.pop("steps", 976), smoke, log_every=8)
    cfg.env = ml_collections.ConfigDict({"name": env, "num_envs": 4, "eval_envs": 16})
    cfg.algo = ml_collections.ConfigDict(
        {
            "rollout_length": 128,
            "epochs": 4,
            "minibatches": 4,
            "gamma": 0.99,
            "gae_lambda": 0.95,
            "clip_eps": 0.2,
            "ent_coef": 0.01,
            "vf_coef": 0.5,
        }
    )
    cfg.model = ml_collections.ConfigDict(
        {
            "actor": "mlp",
            "actor_hidden": (64, 64),
            "critic_hidden": (64, 64),
            "activation": "tanh",
            "qubits": 4,
            "layers": 5,
        }
    )
    cfg.optim = ml_collections.ConfigDict(
        {
            "learning_rate": 2.5e-4,  # the actor's
            "critic_learning_rate": 2.5e-4,
            "anneal_lr": True,
            "max_grad_norm": 0.5,
        }
    )
    _apply(cfg, changes)
    if smoke:
        # No annealing: the compiled step then does not depend on train.steps, so the tests'
        # longer runs of the smoke variant reuse its compiled programs.
        cfg.algo.rollout_length = 16
        cfg.env.eval_envs = 2
        cfg.model.layers = min(cfg.model.layers, 1)
        cfg.optim.anneal_lr = False
    return cfg


def reinforce_config(arg: str | None, **changes) -> ml_collections.ConfigDict:
    smoke = smoke_variant(arg)
    cfg = ppo_config(arg)
    train = _train("rl/reinforce", changes.pop("steps", 1000), smoke, log_every=10)
    cfg.experiment, cfg.train = train.experiment, train.train
    cfg.algo = ml_collections.ConfigDict(
        {
            "rollout_length": 16 if smoke else 128,
            "gamma": 0.99,
            "ent_coef": 0.01,
            "vf_coef": 0.5,
            "normalize_advantage": True,
        }
    )
    cfg.optim.learning_rate = cfg.optim.critic_learning_rate = 1e-3
    _apply(cfg, changes)
    return cfg


def dqn_config(arg: str | None, env: str = "CartPole-v1", **changes) -> ml_collections.ConfigDict:
    """DQN in the style of PureJaxRL's and CleanRL's CartPole settings (see configs/rl)."""
    smoke = smoke_variant(arg)
    cfg = _train("rl/dqn", changes.pop("steps", 5000), smoke, log_every=50)
    cfg.env = ml_collections.ConfigDict({"name": env, "num_envs": 8, "eval_envs": 16})
    cfg.algo = ml_collections.ConfigDict(
        {
            "rollout_length": 5,
            "updates_per_step": 4,
            "batch_size": 128,
            "buffer_capacity": 10000,
            "learning_starts": 10000,
            "target_update_every": 50,
            "gamma": 0.99,
            "epsilon_start": 1.0,
            "epsilon_end": 0.05,
            "epsilon_decay_steps": 100000,
        }
    )
    cfg.model = ml_collections.ConfigDict({"hidden": (120, 84), "activation": "relu"})
    cfg.optim = ml_collections.ConfigDict({"learning_rate": 2.5e-4, "max_grad_norm": 10.0})
    _apply(cfg, changes)
    if smoke:
        cfg.algo.buffer_capacity = 400
        cfg.algo.learning_starts = 80  # learning from the second loop step
        cfg.algo.target_update_every = 4
        cfg.algo.batch_size = 16
        cfg.env.eval_envs = 2
    return cfg


def _apply(cfg, changes: dict) -> None:
    for key, value in changes.items():
        block, field = key.split(".")
        cfg[block][field] = value
