"""Loading TF1 checkpoints into a ``ParamStore``: list, match names, assemble, place.

scopejax names variables as TF1 does, so a checkpoint written by ``tf.compat.v1.train.Saver``
loads with no renaming. Each variable is built with ``jax.make_array_from_callback`` in the target
store's sharding: every device's block is copied straight from the memory-mapped data files, from
the saved slices that overlap it (a partitioned variable saved in 3 parts loads into 8 devices,
or into 1), with zero rows where the store pads an uneven variable. No device, and no host
buffer, ever holds a whole sharded variable.
"""

from __future__ import annotations

import os
from typing import Any, Literal, NamedTuple, overload

import jax
import numpy as np

from scopejax._src.errors import closest_names
from scopejax._src.store import ParamStore, ensure_store
from scopejax._src.tf_assignment import AssignmentMap, LoadReport, compile_map, plan
from scopejax._src.tf_bundle import OBJECT_GRAPH_KEY, Bundle, BundleEntry
from scopejax._src.tf_errors import (
    CheckpointDtypeError,
    CheckpointMismatchError,
    CheckpointShapeError,
)
from scopejax._src.varinfo import VarInfo

PathLike = str | os.PathLike[str]
Pieces = list[tuple[tuple[int, ...], BundleEntry]]


class CheckpointVariable(NamedTuple):
    """One tensor of a checkpoint: its name, full (logical) shape and TF dtype name.

    >>> from scopejax._src.tf_writer import example_checkpoint
    >>> v = list_variables(example_checkpoint())[1]
    >>> v.name, v.shape, v.dtype
    ('dense/kernel', (3, 2), 'float32')
    """

    name: str
    shape: tuple[int, ...]
    dtype: str  # TF's name: "float32", "bfloat16", "int64", "string"...


def list_variables(path: PathLike) -> list[CheckpointVariable]:
    """The tensors of a TF checkpoint, sorted by name, without reading their values.

    A partitioned variable saved in slices is one entry with its full shape, as in TF.

    Args:
      path: a checkpoint prefix (``"/dir/model.ckpt-100"``), its ``.index`` file, or a directory
        with a ``checkpoint`` state file (the latest checkpoint is used).

    >>> from scopejax._src.tf_writer import example_checkpoint
    >>> [v.name for v in list_variables(example_checkpoint())]
    ['dense/bias', 'dense/kernel', 'global_step']
    >>> list_variables(example_checkpoint())[1]
    CheckpointVariable(name='dense/kernel', shape=(3, 2), dtype='float32')

    TF1 equivalent: ``tf.train.list_variables(path)`` (which gives no dtype).
    """
    bundle = Bundle(path)
    return [CheckpointVariable(name, entry.shape, entry.dtype_name)
            for name, entry in sorted(bundle.entries.items())]


def _assemble(bundle: Bundle, name: str, pieces: Pieces, index: tuple[slice, ...],
              shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:  # fmt: skip
    """The block ``index`` of the (padded) array of ``shape``, from the pieces overlapping it."""
    lo = [s.indices(d)[0] for s, d in zip(index, shape, strict=True)]
    hi = [s.indices(d)[1] for s, d in zip(index, shape, strict=True)]
    block = np.zeros([max(0, h - low) for low, h in zip(lo, hi, strict=True)], dtype)
    for start, entry in pieces:
        first = [max(a, s) for a, s in zip(lo, start, strict=True)]
        last = [min(b, s + n) for b, s, n in zip(hi, start, entry.shape, strict=True)]
        if any(f >= la for f, la in zip(first, last, strict=True)):
            continue
        source = tuple(slice(f - s, la - s) for f, la, s in zip(first, last, start, strict=True))
        target = tuple(slice(f - a, la - a) for f, la, a in zip(first, last, lo, strict=True))
        block[target] = bundle.array(name, entry, verify=False)[source]
    return block


def _sharding(name: str, leaf: Any) -> jax.sharding.Sharding:
    sharding = getattr(leaf, "sharding", None)
    if isinstance(leaf, jax.core.Tracer):
        raise CheckpointMismatchError(
            f"load_checkpoint: the target value of {name!r} is a tracer: load checkpoints "
            "outside jax.jit (the result is an ordinary store you can then pass in).")
    if sharding is None:
        return jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return sharding


def _check(bundle: Bundle, pairs: dict[str, str], infos: dict[str, VarInfo]) -> None:
    """Every paired tensor has its variable's logical shape and dtype (all problems at once)."""
    problems, shape_problem = [], False
    for model_name, ckpt_name in pairs.items():
        entry, info = bundle.entries[ckpt_name], infos[model_name]
        what = (f"variable {model_name!r}" if model_name == ckpt_name else
                f"variable {model_name!r} (from checkpoint tensor {ckpt_name!r})")
        if entry.shape != info.shape:
            shape_problem = True
            problems.append(f"{what}: expected shape={info.shape}, found shape={entry.shape}")
        elif entry.dtype_name != info.dtype.name:
            problems.append(f"{what}: expected dtype={info.dtype.name}, "
                            f"found dtype={entry.dtype_name}")
    if problems:
        error = CheckpointShapeError if shape_problem else CheckpointDtypeError
        raise error(
            f"Checkpoint {bundle.prefix} does not fit the target store: " + "; ".join(problems)
            + ". Build the model with the checkpoint's shapes and dtypes, or leave these "
            "variables out with an assignment_map and strict=False.")


@overload
def load_checkpoint(path: PathLike, target: ParamStore, *,
                    assignment_map: AssignmentMap | None = None, strict: Literal[True] = True,
                    verify_checksums: bool = True) -> ParamStore: ...  # fmt: skip


@overload
def load_checkpoint(path: PathLike, target: ParamStore, *,
                    assignment_map: AssignmentMap | None = None, strict: Literal[False],
                    verify_checksums: bool = True
                    ) -> tuple[ParamStore, LoadReport]: ...  # fmt: skip


def load_checkpoint(path: PathLike, target: ParamStore, *,
                    assignment_map: AssignmentMap | None = None, strict: bool = True,
                    verify_checksums: bool = True) -> Any:  # fmt: skip
    """Loads a TF checkpoint into the variables of ``target``, placed in ``target``'s shardings.

    Args:
      path: a checkpoint prefix (``"/dir/model.ckpt-100"``), its ``.index`` file, or a directory
        with a ``checkpoint`` state file (the latest checkpoint is used).
      target: the store to fill: ``model.init(...)``'s, or ``model.init_abstract(...)``'s (no
        initial values are computed then). It fixes names, shapes, dtypes and placement: each
        leaf's sharding is kept, partitioned variables stay sharded and padded as ``init``
        makes them.
      assignment_map: ``{checkpoint name or scope: model name or scope}`` and
        ``re.compile(...)`` rules (see ``tf_assignment``); default: identical names.
      strict: require every model variable to get a value, every checkpoint tensor to be used
        and every rule to match; otherwise raise :class:`CheckpointMismatchError` listing all of
        them. With ``strict=False`` the result is ``(store, LoadReport)``; variables with no
        value keep the target's leaf (an array, or a ``ShapeDtypeStruct`` for abstract targets).
      verify_checksums: check the CRC-32C of every tensor read (one pass over its bytes).

    Raises:
      CheckpointNotFoundError, CheckpointFormatError, UnsupportedCheckpointError: the files.
      CheckpointMismatchError: names do not correspond (``strict=True``).
      CheckpointShapeError, CheckpointDtypeError: a tensor does not fit its variable.
      AssignmentMapError: a malformed map, or two tensors for one variable.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax._src.tf_writer import example_checkpoint
    >>> def dense(x):
    ...     with scopejax.variable_scope("dense"):
    ...         w = scopejax.get_variable("kernel", [3, 2])
    ...         return x @ w + scopejax.get_variable("bias", [2])[None, :]
    >>> model = scopejax.transform(dense)
    >>> target = model.init_abstract(jax.random.key(0), jnp.ones((1, 3)))
    >>> params, report = load_checkpoint(example_checkpoint(), target, strict=False)
    >>> report.unused, params["dense/bias"].tolist()
    (('global_step',), [0.5, -0.5])

    TF1 equivalent: ``tf.compat.v1.train.init_from_checkpoint(path, assignment_map)`` followed
    by running the initializers, or ``Saver.restore``.
    """
    target = ensure_store(target, "load_checkpoint(target)")
    bundle = Bundle(path)
    infos = target.infos()
    names = [n for n in bundle.entries if n != OBJECT_GRAPH_KEY]
    report = plan(names, infos, compile_map(assignment_map))
    if strict and not report.complete:
        raise CheckpointMismatchError(
            f"Checkpoint {bundle.prefix} and the target store do not correspond (strict=True): "
            + report.describe(names, infos).replace("\n", "; ")
            + ". Map renamed scopes with assignment_map={'old_scope/': 'new_scope/'}, or pass "
            "strict=False to load what matches and get a LoadReport.")
    _check(bundle, dict(report.loaded), infos)
    leaves = dict(zip(target.names(), jax.tree.leaves(target), strict=True))
    values = {}
    for model_name, ckpt_name in report.loaded.items():
        info = infos[model_name]
        pieces = bundle.pieces(ckpt_name)
        for _, entry in pieces:
            bundle.array(ckpt_name, entry, verify=verify_checksums)
        shape = info.stored_shape

        def block(index: Any, pieces: Pieces = pieces, name: str = ckpt_name,
                  shape: tuple[int, ...] = shape, dtype: np.dtype = info.dtype) -> np.ndarray:
            return _assemble(bundle, name, pieces, index, shape, dtype)

        sharding = _sharding(model_name, leaves[model_name])
        values[model_name] = jax.make_array_from_callback(shape, sharding, block)
    loaded = target.replace(values)
    return loaded if strict else (loaded, report)


def load_variable(path: PathLike, name: str, *, verify_checksums: bool = True) -> np.ndarray:
    """One tensor of a checkpoint as a NumPy array (the slices of a partitioned one joined).

    >>> from scopejax._src.tf_writer import example_checkpoint
    >>> load_variable(example_checkpoint(), "dense/bias")
    array([ 0.5, -0.5], dtype=float32)

    TF1 equivalent: ``tf.train.load_variable(path, name)``.
    """
    bundle = Bundle(path)
    if name not in bundle.entries:
        raise CheckpointMismatchError(f"Checkpoint {bundle.prefix} has no tensor {name!r}; "
                                      f"{closest_names(name, bundle.entries)}.")
    entry = bundle.entries[name]
    pieces = bundle.pieces(name)
    dtype = np.dtype(bundle.array(name, pieces[0][1], verify=verify_checksums).dtype.name)
    for _, piece in pieces[1:]:
        bundle.array(name, piece, verify=verify_checksums)
    full = tuple(slice(0, d) for d in entry.shape)
    return _assemble(bundle, name, pieces, full, entry.shape, dtype)


__all__ = ["CheckpointVariable", "LoadReport", "list_variables", "load_checkpoint",
           "load_variable"]
