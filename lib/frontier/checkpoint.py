"""The only module that talks to orbax: periodic, final, keep-N, atomic checkpoints.

Orbax writes each step into a temporary directory and renames it when complete, so a run
killed mid-save leaves the previous checkpoints intact and the half-written one is ignored.
A step whose files were damaged afterwards (a truncated or lost file) is found when it fails
to restore: `restore_newest_good` warns, moves it aside to `<step>.corrupt-<n>` (nothing is
deleted) and falls back to the newest step that restores.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
    """No checkpoint in a directory restores; the message names it and every step's error."""


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

    def restore_newest_good(self, abstract_state):
        """`(step, state)` from the newest step that restores, or `(None, None)` if none exist.

        Steps newer than the one that restores are damaged: each is reported in a warning
        naming the step and the error, and moved aside to `<step>.corrupt-<n>` so the run can
        write that step again. If no step restores, nothing is moved (the cause may be the
        structure asked for rather than the files) and `CheckpointError` names the directory.
        """
        steps = sorted(self.all_steps(), reverse=True)
        failed: list[tuple[int, str]] = []
        for step in steps:
            try:
                state = self.restore(abstract_state, step)
            except Exception as e:  # orbax and TensorStore raise many types for damaged files
                _quiet_orphaned_reads()
                failed.append((step, _describe_error(e)))
                continue
            if failed:
                self._sync("frontier_checkpoint_move_aside")  # all name the same targets
            for bad, error in failed:
                moved = self._move_aside(bad)
                warnings.warn(
                    f"checkpoint step {bad} in {self.directory} does not restore ({error}); "
                    f"moved it to {moved.name} and resumed from step {step}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            if failed:
                self._sync("frontier_checkpoint_moved_aside")  # before anyone saves
                self._manager.reload()
            return step, state
        if failed:
            details = "; ".join(f"step {s}: {e}" for s, e in failed)
            raise CheckpointError(
                f"no checkpoint in {self.directory} restores ({details}). If the files are "
                "damaged, move that directory away to start afresh; if the config changed the "
                "state's structure, use another --workdir."
            )
        return None, None

    def _move_aside(self, step: int) -> Path:
        """Rename `<step>` to the first free `<step>.corrupt-<n>` (process 0 only)."""
        src = self.directory / str(step)
        n = 1
        while (dst := self.directory / f"{step}.corrupt-{n}").exists():
            n += 1
        if jax.process_index() == 0:
            src.rename(dst)
        return dst

    @staticmethod
    def _sync(name: str) -> None:
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices(name)

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


def _describe_error(e: BaseException) -> str:
    """`Type: first line` of the innermost cause, which names the file and the TensorStore
    status (orbax wraps it in an `Exception` whose text is a dump of the array's spec)."""
    while e.__cause__ is not None:
        e = e.__cause__
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:400] if lines else repr(e)}"


_orphan_filter_installed = False


def _quiet_orphaned_reads() -> None:
    """Silence the "Event loop is closed" errors of reads still in flight after a failed restore.

    When one array of a step fails, orbax closes its event loop while TensorStore is still
    reading the step's other arrays; each of those reads then reports, through
    `sys.unraisablehook`, a `RuntimeError` traceback that says nothing about the checkpoint.
    Only that error is dropped; every other unraisable error goes to the previous hook.
    """
    global _orphan_filter_installed
    if _orphan_filter_installed:
        return
    previous = sys.unraisablehook

    def hook(unraisable):
        exc = unraisable.exc_value
        if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
            return
        previous(unraisable)

    sys.unraisablehook = hook
    _orphan_filter_installed = True
