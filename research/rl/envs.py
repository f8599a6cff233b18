"""Environments from gymnax (JAX-native classic control and MinAtar), vmapped over many copies.

`make_env(name)` checks the name against gymnax's registry; `EnvPool` steps `num_envs` copies
with `jax.vmap` (gymnax resets an episode inside `step` when it ends) and keeps per-episode
statistics: the return of the episodes that ended in the last rollout is what the agents log
as `episode_return` (the convention of PureJaxRL's logs).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


def available_envs() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs)


def make_env(name: str):
    """`(env, env_params)` for a gymnax environment; ValueError listing the names otherwise."""
    import gymnax

    if name not in gymnax.registered_envs:
        import difflib

        close = difflib.get_close_matches(name, gymnax.registered_envs, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"unknown environment {name!r}{hint}; gymnax provides: "
            + ", ".join(gymnax.registered_envs)
        )
    return gymnax.make(name)


def discrete_actions(env, params, name: str, algorithm: str) -> int:
    """Number of actions of a discrete action space; ValueError for any other space."""
    from gymnax.environments import spaces

    space = env.action_space(params)
    if not isinstance(space, spaces.Discrete):
        raise ValueError(
            f"{algorithm} here needs a discrete action space, but {name} has {space} "
            f"({type(space).__name__}); choose an environment with discrete actions, e.g. "
            "CartPole-v1, Acrobot-v1 or a MinAtar game"
        )
    return int(space.n)


def observation_size(env, params) -> int:
    """Flattened size of one observation (MinAtar's [10, 10, C] grids are flattened)."""
    import math

    return int(math.prod(env.observation_space(params).shape))


def check_positive(**values: int) -> None:
    for name, v in values.items():
        if int(v) < 1:
            raise ValueError(f"{name} must be a positive integer, got {v}")


@flax.struct.dataclass
class EnvCarry:
    """`num_envs` environments and their running episode statistics."""

    env_state: Any
    obs: jax.Array  # [num_envs, obs_size] float32
    ep_return: jax.Array  # [num_envs] return of the running episode so far
    # [] mean return of the episodes that ended in the last rollout that ended any (0 before
    # the first episode ends: read it together with `episodes`)
    recent_return: jax.Array
    episodes: jax.Array  # [] episodes ended so far (int32)


class EnvPool:
    """`num_envs` copies of a gymnax environment stepped together."""

    def __init__(self, name: str, num_envs: int):
        self.name = name
        self.env, self.params = make_env(name)
        self.num_envs = int(num_envs)
        self.obs_size = observation_size(self.env, self.params)

    def _flat(self, obs):
        return obs.reshape(obs.shape[0], -1).astype(jnp.float32)

    def reset(self, key: jax.Array, num_envs: int | None = None) -> EnvCarry:
        n = self.num_envs if num_envs is None else num_envs
        obs, state = jax.vmap(self.env.reset, in_axes=(0, None))(
            jax.random.split(key, n), self.params
        )
        return EnvCarry(
            state,
            self._flat(obs),
            jnp.zeros(n),
            jnp.zeros(()),
            jnp.zeros((), jnp.int32),
        )

    def step(self, carry: EnvCarry, action: jax.Array, key: jax.Array):
        """-> (carry, out): `out` holds per-env [n] arrays `reward`, `done` (the episode ended,
        by termination or the time limit), `terminated` (ended in a terminal state: no
        bootstrap), `final_return` (the episode's return where done, else 0) and `next_obs`
        [n, d] (the true next observation, before gymnax's automatic reset)."""
        n = carry.obs.shape[0]
        obs, state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None)
        )(jax.random.split(key, n), carry.env_state, action, self.params)
        reward = reward.astype(jnp.float32)
        terminated = terminated.astype(jnp.float32)
        done = jnp.maximum(terminated, truncated.astype(jnp.float32))
        total = carry.ep_return + reward
        carry = carry.replace(
            env_state=state,
            obs=self._flat(obs),
            ep_return=total * (1.0 - done),
            episodes=carry.episodes + jnp.sum(done).astype(jnp.int32),
        )
        out = {
            "reward": reward,
            "done": done,
            "terminated": terminated,
            "final_return": total * done,
            "next_obs": self._flat(info["final_observation"]),
        }
        return carry, out

    @staticmethod
    def with_recent_return(carry: EnvCarry, finished: jax.Array, dones: jax.Array) -> EnvCarry:
        """Record the mean return of the episodes that ended in a rollout (kept if none did)."""
        count = jnp.sum(dones)
        mean = jnp.sum(finished) / jnp.maximum(count, 1.0)
        return carry.replace(recent_return=jnp.where(count > 0, mean, carry.recent_return))

    def evaluate(self, act, key: jax.Array, num_envs: int) -> dict[str, jax.Array]:
        """Mean undiscounted return of the first episode of `num_envs` fresh environments.

        `act(obs [n, d], key) -> actions [n]`; runs `max_steps_in_episode` steps in a scan.
        """
        k0, k1 = jax.random.split(key)
        carry = self.reset(k0, num_envs)
        horizon = int(self.params.max_steps_in_episode)

        def body(c, k):
            carry, ret, alive = c
            ka, ks = jax.random.split(k)
            carry, out = self.step(carry, act(carry.obs, ka), ks)
            ret = ret + alive * out["reward"]
            return (carry, ret, alive * (1.0 - out["done"])), None

        init = (carry, jnp.zeros(num_envs), jnp.ones(num_envs))
        (_, ret, _), _ = jax.lax.scan(body, init, jax.random.split(k1, horizon))
        return {"return": jnp.mean(ret)}
