"""The only module that talks to orbax: periodic, final, keep-N, atomic checkpoints.

Orbax writes each step into a temporary directory and renames it when complete, so a run
killed mid-save leaves the previous checkpoints intact and the half-written one is ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import orbax.checkpoint as ocp


class Checkpointer:
    """Save and restore a pytree `state` under `directory`, keeping the newest `keep`."""

    def __init__(self, directory: str | os.PathLike, keep: int = 2):
        self.directory = Path(directory).resolve()
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def save(self, step: int, state, *, force: bool = False) -> bool:
        return self._manager.save(step, args=ocp.args.StandardSave(state), force=force)

    def restore(self, abstract_state, step: int | None = None):
        """Restore into the structure, dtypes and shardings of `abstract_state`.

        `abstract_state` is a pytree of `jax.ShapeDtypeStruct` (with `.sharding`) such as
        `jax.eval_shape(init)` with shardings attached.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        return self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


def abstract_like(tree, sharding=None):
    """ShapeDtypeStructs (optionally with a sharding) for every leaf of `tree`."""
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding or x.sharding), tree
    )
