"""Checkpoints of ``ParamStore``s on orbax: sharded, multi-host, atomic, restorable onto any mesh.

A checkpoint step is an orbax composite with up to three items:

* ``params``: ``{variable name: array}``, written by orbax shard by shard from every process;
* ``extra``: optional arrays saved alongside (an optax state), keyed by ``jax.tree_util.keystr``;
* ``scopejax``: JSON with every variable's ``VarInfo`` fields, the extra leaves' shapes, and a
  checksum per array.

Uneven partitioned variables are stored padded (``VarInfo.physical_shape``), and a ``jax.Array``
cannot be sharded unevenly, so the logical array cannot be written without gathering it. Each one
is written as its evenly sharded stored array with the padding rows set to zero, and the JSON
records its *logical* shape, which is the only shape a checkpoint promises: restore checks
logical shapes, reads through orbax's padding/truncation (``strict=False``) directly into the
target's stored shape and sharding (any mesh, any partition count: missing padding rows read as
zero, extra ones are dropped), and the checksums cover the logical elements only. The flat export
(``flat_export.py``) writes exactly the logical arrays.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from scopejax._src.checkpoint_format import (
    FORMAT_VERSION,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    LeafSpec,
    check_match,
    checksums,
    leaf_to_json,
    store_leaves,
    tree_leaves,
    varinfo_from_json,
    varinfo_to_json,
    verify_checksums,
    zero_padding,
)
from scopejax._src.errors import check_path
from scopejax._src.runs import is_tracer
from scopejax._src.store import ParamStore, ensure_store
from scopejax._src.varinfo import VarInfo

_PARAMS, _EXTRA, _META = "params", "extra", "scopejax"


class Restored(NamedTuple):
    """What :meth:`CheckpointManager.restore` returns.

    Attributes:
      step: the restored step.
      params: the ``ParamStore``, laid out as the target (or on one device without a target).
      extra: the arrays saved with ``extra=``, in ``extra_target``'s structure (``None`` if not
        requested).

    >>> import tempfile, jax.numpy as jnp
    >>> from scopejax import ParamStore
    >>> from scopejax.checkpoint import CheckpointManager
    >>> with CheckpointManager(tempfile.mkdtemp()) as manager:
    ...     manager.save(3, ParamStore.from_flat_dict({"w": jnp.ones(2)}),
    ...                  extra={"step": jnp.array(3)})
    ...     r = manager.restore(extra_target={"step": jnp.array(0)})
    >>> r.step, r.params.names(), int(r.extra["step"])
    (3, ('w',), 3)
    """

    step: int
    params: ParamStore
    extra: Any = None


class CheckpointManager:
    """Numbered checkpoints of a ``ParamStore`` (and an optimiser state) in one directory.

    Every process of a multi-host run calls the same methods with its own shards; orbax writes
    each shard once and commits a step atomically (an interrupted save leaves the previous
    steps intact and is ignored).

    Args:
      directory: where the steps live (created unless ``create=False``).
      max_to_keep: keep only the newest ``max_to_keep`` steps (``None``: keep all).
      async_save: return from :meth:`save` once the arrays are copied to host memory and write
        in the background (call :meth:`wait_until_finished` before relying on the files).
      create: create ``directory`` if missing; ``False`` opens it read-only for restoring.

    >>> import tempfile, jax.numpy as jnp, scopejax as sj
    >>> from scopejax.checkpoint import CheckpointManager
    >>> store = sj.ParamStore.from_flat_dict({"dense/w": jnp.ones((2, 3))})
    >>> with CheckpointManager(tempfile.mkdtemp(), max_to_keep=2) as mngr:
    ...     for step in range(3):
    ...         mngr.save(step, store)
    ...     mngr.all_steps(), mngr.restore(target=store).params["dense/w"].sum().item()
    ((1, 2), 6.0)
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_to_keep: int | None = None,
                 async_save: bool = False, create: bool = True) -> None:  # fmt: skip
        self._directory = Path(os.path.abspath(check_path(directory, "CheckpointManager")))
        if not create:
            _check_directory(self._directory)
        if max_to_keep is not None and (isinstance(max_to_keep, bool)
                                        or not isinstance(max_to_keep, int) or max_to_keep < 1):
            raise CheckpointError(f"CheckpointManager: max_to_keep must be a positive int or "
                                  f"None, got {max_to_keep!r}.")
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=create, read_only=not create,
            save_interval_steps=1 if create else 0,
            enable_async_checkpointing=async_save)
        self._async = async_save
        self._manager = ocp.CheckpointManager(self._directory, options=options)

    @property
    def directory(self) -> Path:
        """The absolute path of the checkpoint directory."""
        return self._directory

    def __enter__(self) -> CheckpointManager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Waits for pending saves and releases orbax's resources."""
        self._manager.close()

    def wait_until_finished(self) -> None:
        """Blocks until an ``async_save`` write is committed."""
        self._manager.wait_until_finished()

    def all_steps(self) -> tuple[int, ...]:
        """The committed steps, oldest first (interrupted saves are not listed)."""
        self._manager.reload()  # steps saved by another manager (or process) since
        return tuple(sorted(self._manager.all_steps()))

    def latest_step(self) -> int | None:
        """The newest committed step, or ``None`` when there is none."""
        steps = self.all_steps()
        return steps[-1] if steps else None

    # ------------------------------------------------------------------------------------ save

    def save(self, step: int, store: ParamStore, *, extra: Any = None) -> None:
        """Saves ``store`` (and the arrays of ``extra``, e.g. ``{"opt_state": state}``) as ``step``.

        Everything is checked before anything is written: a bad argument leaves the directory as
        it was. Regularizer and constraint functions are not saved (they are code); restore takes
        them from its target.

        Raises:
          StoreTypeError: ``store`` is not a ``ParamStore``.
          CheckpointError: ``step`` is not a non-negative int or exists already, or ``extra`` has
            a leaf that is not an array.
        """
        self._write(_plan_save(store, extra, step, f"CheckpointManager.save(step={step!r})"))

    def _write(self, plan: _SavePlan) -> None:
        if plan.step in self.all_steps():
            raise CheckpointError(
                f"CheckpointManager.save: step {plan.step} already exists in {self._directory}; "
                "checkpoints are never overwritten. Save under a new step number.")
        self._manager.save(plan.step, args=ocp.args.Composite(**plan.items))
        if not self._async:
            self._manager.wait_until_finished()

    # --------------------------------------------------------------------------------- restore

    def read_infos(self, step: int | None = None) -> dict[str, VarInfo]:
        """The ``VarInfo`` of every saved variable at its logical layout (no padding; the
        ``has_regularizer``/``has_constraint`` flags are in :meth:`read_metadata`)."""
        meta = self.read_metadata(step)
        return {n: varinfo_from_json(d) for n, d in meta["variables"].items()}

    def read_metadata(self, step: int | None = None) -> dict[str, Any]:
        """The JSON metadata of a step: ``{"variables": {name: fields}, "extra": ...}``."""
        step = self._resolve_step(step)
        return self._read_meta(step)

    def restore(self, step: int | None = None, *, target: ParamStore | None = None,
                extra_target: Any = None, verify: bool = True) -> Restored:  # fmt: skip
        """Restores a step (default: the latest) into ``target``'s shapes and shardings.

        Args:
          step: the step to restore; ``None`` for the latest.
          target: the store to restore into, usually ``model.init_abstract(rng, *args)`` under
            the *current* mesh: arrays are read straight into its shardings, whatever mesh or
            partition count saved them; its ``VarInfo``s (with their regularizers and
            constraints) are kept. ``None`` restores every variable whole onto this process's
            first device, with the saved metadata (for inspection on one host).
          extra_target: the structure and shardings of the saved ``extra`` (e.g.
            ``{"opt_state": jax.eval_shape(opt.init, target)}``); ``None`` skips it. A leaf
            without a sharding takes the one of the variable of the same name (optax's
            ``mu``/``nu``), else is replicated over the target's mesh.
          verify: compare every array's checksum with the one recorded at save time.

        Raises:
          CheckpointNotFoundError: no such directory or step.
          CheckpointMismatchError: the checkpoint's names, shapes or dtypes differ from the
            target's (every difference is listed).
          CheckpointCorruptError: a file is missing, truncated or corrupted.
        """
        step = self._resolve_step(step)
        where = f"restore of step {step} from {self._directory}"
        meta = self._read_meta(step)
        saved = meta["variables"]
        if target is None:
            infos = {n: varinfo_from_json(d) for n, d in saved.items()}
            specs = [LeafSpec(n, i.shape, i.dtype) for n, i in infos.items()]
            abstract = {s.key: _abstract(None, s) for s in specs}
        else:
            target = ensure_store(target, "CheckpointManager.restore(target=...)")
            pairs = store_leaves(target)
            check_match(where, "variables", saved, [s for s, _ in pairs])
            specs = [s for s, _ in pairs]
            abstract = {s.key: _abstract(leaf, s) for s, leaf in pairs}
        fallback = _fallback_shardings(abstract)
        items = {}
        extra_specs, treedef, extra_abstract = [], None, {}
        if extra_target is not None:
            if meta.get("extra") is None:
                raise CheckpointMismatchError(f"{where}: extra_target was given but this "
                                              "checkpoint was saved without extra=.")
            extra_pairs, treedef = tree_leaves(extra_target)
            check_match(where, "extra arrays", meta["extra"], [s for s, _ in extra_pairs])
            extra_specs = [s for s, _ in extra_pairs]
            extra_abstract = {s.key: _abstract(leaf, s, fallback) for s, leaf in extra_pairs}
        for item, tree in ((_PARAMS, abstract), (_EXTRA, extra_abstract)):
            arrays = {k: a for k, a in tree.items() if math.prod(a.shape)}
            if arrays:
                items[item] = ocp.args.StandardRestore(arrays, strict=False)
        try:
            out = self._manager.restore(step, args=ocp.args.Composite(**items)) if items else {}
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointCorruptError(
                f"{where}: the arrays could not be read; the checkpoint is truncated or "
                f"corrupted ({type(e).__name__}: {_first_line(e)}).") from e
        values = _with_empty(out.get(_PARAMS) or {}, abstract)
        extra_values = _with_empty(out.get(_EXTRA) or {}, extra_abstract)
        if verify:
            expected = {n: d.get("checksum") for n, d in saved.items()}
            if extra_target is not None:
                expected.update({k: d.get("checksum") for k, d in meta["extra"].items()})
            pairs = [(s, values[s.key]) for s in specs]
            pairs += [(s, extra_values[s.key]) for s in extra_specs]
            verify_checksums(where, pairs, expected)
        if target is None:
            params = ParamStore.from_flat_dict(values, infos)
        else:
            params = jax.tree.unflatten(jax.tree.structure(target),
                                        [values[s.key] for s in specs])
        extra = None
        if treedef is not None:
            extra = jax.tree.unflatten(treedef, [extra_values[s.key] for s in extra_specs])
        return Restored(step, params, extra)

    def _resolve_step(self, step: int | None) -> int:
        steps = self.all_steps()
        if not steps:
            raise CheckpointNotFoundError(
                f"No checkpoint in {self._directory}: the directory holds no committed step "
                "(an interrupted save does not count). Check the path.")
        if step is None:
            return steps[-1]
        if step not in steps:
            raise CheckpointNotFoundError(
                f"No step {step} in {self._directory}; its steps are {list(steps)}.")
        return step

    def _read_meta(self, step: int) -> dict[str, Any]:
        where = f"step {step} of {self._directory}"
        if not (self._directory / str(step) / _META).is_dir():
            raise CheckpointCorruptError(
                f"{where} has no '{_META}' metadata item: it is not a scopejax checkpoint, or it "
                "is incomplete.")
        try:
            meta = self._manager.restore(
                step, args=ocp.args.Composite(**{_META: ocp.args.JsonRestore()}))[_META]
        except Exception as e:
            raise CheckpointCorruptError(
                f"{where}: its metadata cannot be read ({type(e).__name__}: {_first_line(e)}); "
                "the checkpoint is corrupted.") from e
        if (not isinstance(meta, Mapping) or meta.get("format") != "scopejax"
                or not isinstance(meta.get("variables"), Mapping)):  # fmt: skip
            raise CheckpointCorruptError(f"{where}: its metadata is not scopejax checkpoint "
                                         "metadata; the checkpoint is corrupted.")
        if meta.get("version", 0) > FORMAT_VERSION:
            raise CheckpointError(f"{where} was written by a newer scopejax (format version "
                                  f"{meta['version']}); upgrade scopejax to read it.")
        return dict(meta)


# ---------------------------------------------------------------------------- save planning


class _SavePlan(NamedTuple):
    step: int
    items: dict[str, Any]


def _plan_save(store: Any, extra: Any, step: Any, where: str) -> _SavePlan:
    """Checks the arguments of a save and prepares its orbax items (writes nothing)."""
    store = ensure_store(store, f"{where}: store")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{where}: step must be a non-negative int, got {step!r}.")
    pairs = store_leaves(store)
    extra_pairs = tree_leaves(extra)[0] if extra is not None else []
    for spec, value in pairs + extra_pairs:
        if not isinstance(value, jax.Array) or is_tracer(value):
            raise CheckpointError(
                f"{where}: {spec.key!r} is a {type(value).__name__}, not a concrete jax.Array "
                "(save outside jax.jit, with real values rather than an abstract store).")
    values = zero_padding(pairs)
    extra_values = zero_padding(extra_pairs)
    sums = checksums([(s, v) for (s, _), v in zip(pairs + extra_pairs, values + extra_values,
                                                   strict=True)])  # fmt: skip
    infos = store.infos()
    variables = {}
    for (spec, _), c in zip(pairs, sums[:len(pairs)], strict=True):
        variables[spec.key] = {**varinfo_to_json(infos[spec.key]), "checksum": c}
    meta: dict[str, Any] = {"format": "scopejax", "version": FORMAT_VERSION,
                            "variables": variables, "extra": None}
    items: dict[str, Any] = {}
    if extra is not None:
        meta["extra"] = {s.key: leaf_to_json(s, c) for (s, _), c in
                         zip(extra_pairs, sums[len(pairs):], strict=True)}
    # Orbax writes no zero-size arrays (nor empty items): their shape in the metadata suffices.
    for item, item_pairs, item_values in ((_PARAMS, pairs, values),
                                          (_EXTRA, extra_pairs, extra_values)):
        arrays = {s.key: v for (s, _), v in zip(item_pairs, item_values, strict=True) if v.size}
        if arrays:
            items[item] = ocp.args.StandardSave(arrays)
    items[_META] = ocp.args.JsonSave(meta)
    return _SavePlan(step, items)


def _abstract(leaf: Any, spec: LeafSpec,
              fallback: Mapping[Any, Any] | None = None) -> jax.ShapeDtypeStruct:  # fmt: skip
    """The restore target of one array: the leaf's stored shape and sharding.

    A leaf without a sharding (``jax.eval_shape(opt.init, target)`` drops them) takes the one of
    the params variable of the same name and shape (optax's ``mu``/``nu``), else is replicated
    over the params' mesh, else lands on this process's first device.
    """
    shape = spec.shape if leaf is None else tuple(leaf.shape)
    sharding = getattr(leaf, "sharding", None)
    if sharding is None and fallback is not None:
        sharding = fallback.get((spec.variable, shape), fallback.get(None))
    if sharding is None:
        sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    return jax.ShapeDtypeStruct(shape, spec.dtype, sharding=sharding)


def _fallback_shardings(abstract: Mapping[str, jax.ShapeDtypeStruct]) -> dict[Any, Any]:
    """``{(variable, stored shape): sharding}`` of the params, and ``None``: replicated over the
    params' mesh (if they have one)."""
    out: dict[Any, Any] = {(name, a.shape): a.sharding for name, a in abstract.items()}
    for a in abstract.values():
        if isinstance(a.sharding, jax.sharding.NamedSharding):
            out[None] = jax.sharding.NamedSharding(a.sharding.mesh, jax.sharding.PartitionSpec())
            break
    return out


def _with_empty(values: Mapping[str, Any], abstract: Mapping[str, jax.ShapeDtypeStruct]
                ) -> dict[str, Any]:  # fmt: skip
    """``values`` plus the zero-size arrays of ``abstract``, which orbax does not store."""
    out = dict(values)
    for key, a in abstract.items():
        if key not in out:
            out[key] = jnp.zeros(a.shape, a.dtype, device=a.sharding)
    return out


def _check_directory(directory: Path) -> None:
    if not directory.exists():
        raise CheckpointNotFoundError(f"No checkpoint directory at {directory}.")
    if not directory.is_dir():
        raise CheckpointNotFoundError(f"{directory} is a file, not a checkpoint directory.")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else "no message"


# -------------------------------------------------------------------------- one-shot functions


def save(directory: str | os.PathLike[str], store: ParamStore, *, step: int,
         extra: Any = None) -> None:  # fmt: skip
    """Saves ``store`` as checkpoint ``step`` under ``directory`` (see :class:`CheckpointManager`).

    Call it from every process of a multi-host run. Bad arguments are reported before the
    directory is created or touched.

    >>> import tempfile, jax, jax.numpy as jnp, scopejax as sj
    >>> from scopejax import checkpoint
    >>> model = sj.transform(lambda x: x @ sj.get_variable("w", [3, 2]))
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> path = tempfile.mkdtemp()
    >>> checkpoint.save(path, params, step=0)
    >>> target = model.init_abstract(jax.random.key(1), jnp.ones((1, 3)))
    >>> restored = checkpoint.restore(path, target)
    >>> bool((restored["w"] == params["w"]).all())
    True

    TF1 equivalent: ``tf.compat.v1.train.Saver().save(sess, path, global_step=step)``.
    """
    plan = _plan_save(store, extra, step, f"save(step={step!r})")  # before creating anything
    with CheckpointManager(directory) as manager:
        manager._write(plan)


def restore(directory: str | os.PathLike[str], target: ParamStore | None = None, *,
            step: int | None = None, verify: bool = True) -> ParamStore:  # fmt: skip
    """The ``ParamStore`` of checkpoint ``step`` (default: the latest) in ``directory``.

    See :meth:`CheckpointManager.restore` for ``target`` (an abstract store: arrays land in its
    shardings, on any mesh) and the errors. Nothing on disk is changed.

    >>> import tempfile, jax.numpy as jnp
    >>> from scopejax import ParamStore, checkpoint
    >>> path = tempfile.mkdtemp()
    >>> checkpoint.save(path, ParamStore.from_flat_dict({"w": jnp.arange(3.0)}), step=5)
    >>> checkpoint.restore(path)["w"].tolist()  # no target: whole arrays on one device
    [0.0, 1.0, 2.0]

    TF1 equivalent: ``tf.compat.v1.train.Saver().restore(sess, tf.train.latest_checkpoint(d))``.
    """
    with CheckpointManager(directory, create=False) as manager:
        return manager.restore(step, target=target, verify=verify).params


def latest_step(directory: str | os.PathLike[str]) -> int | None:
    """The newest committed step in ``directory`` (``None`` if there is none).

    >>> import tempfile, jax.numpy as jnp
    >>> from scopejax import ParamStore, checkpoint
    >>> path = tempfile.mkdtemp()
    >>> print(checkpoint.latest_step(path))
    None
    >>> for step in (10, 20):
    ...     checkpoint.save(path, ParamStore.from_flat_dict({"w": jnp.ones(2)}), step=step)
    >>> checkpoint.latest_step(path)
    20
    """
    with CheckpointManager(directory, create=False) as manager:
        return manager.latest_step()


def read_infos(directory: str | os.PathLike[str], step: int | None = None) -> dict[str, VarInfo]:
    """The saved ``VarInfo`` of every variable of a checkpoint (logical layout, no callables).

    >>> import tempfile, jax.numpy as jnp
    >>> from scopejax import ParamStore, VarInfo, checkpoint
    >>> store = ParamStore.from_flat_dict(
    ...     {"n": jnp.zeros((), jnp.int32)},
    ...     {"n": VarInfo((), jnp.int32, trainable=False, collections=("variables",))})
    >>> path = tempfile.mkdtemp()
    >>> checkpoint.save(path, store, step=0)
    >>> info = checkpoint.read_infos(path)["n"]
    >>> info.trainable, info.collections
    (False, ('variables',))
    """
    with CheckpointManager(directory, create=False) as manager:
        return manager.read_infos(step)


__all__ = ["CheckpointManager", "Restored", "latest_step", "read_infos", "restore", "save"]
