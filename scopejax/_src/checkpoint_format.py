"""What a scopejax checkpoint holds besides the arrays: errors, leaf specs, JSON, checksums.

Shared by the orbax checkpoints (``checkpoint.py``) and the flat safetensors export
(``flat_export.py``). A saved tree is described leaf by leaf with a :class:`LeafSpec`: its key, its
*logical* shape and dtype, and, for a padded partitioned variable, the axis whose trailing rows are
padding. A ``ParamStore`` anywhere in a tree (the params, or optax's ``mu``/``nu`` inside an
optimiser state) is expanded into its variables, so padding is handled wherever it occurs.

Checksums: every leaf gets a 32-bit sum over its logical elements of a hash of (bits, position),
computed under ``jax.jit`` on the sharded arrays. Addition modulo 2**32 does not depend on the
order, so any layout, mesh or process count gives the same value, and nothing is gathered: each
device reduces its own shard and XLA adds up scalars.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from scopejax._src.errors import ScopeJaxError
from scopejax._src.partitioners import PartitionInfo
from scopejax._src.store import ParamStore
from scopejax._src.varinfo import VarInfo

FORMAT_VERSION = 1
_LIST_LIMIT = 8


class CheckpointError(ScopeJaxError, ValueError):
    """Base class of checkpoint errors: nothing was written, or nothing was restored."""


class CheckpointNotFoundError(CheckpointError):
    """No checkpoint at the given directory (or no such step)."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint does not fit the restore target: other names, shapes or dtypes."""


class CheckpointCorruptError(CheckpointError):
    """The checkpoint is truncated, corrupted, or not a scopejax checkpoint."""


@dataclasses.dataclass(frozen=True)
class LeafSpec:
    """One saved array: its key, logical shape and dtype, its padded axis (or ``None``) and, for
    a variable of a ``ParamStore``, the variable's name."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    padded_axis: int | None = None
    variable: str | None = dataclasses.field(default=None, compare=False)


# ----------------------------------------------------------------------------- tree <-> leaves


def store_leaves(store: ParamStore) -> list[tuple[LeafSpec, Any]]:
    """``(spec, stored array)`` for every variable of ``store``, keyed by variable name."""
    out = []
    for (name, info), value in zip(store.infos().items(), jax.tree.leaves(store), strict=True):
        padded = None if info.physical_shape is None else info.partition.axis
        out.append((LeafSpec(name, info.shape, info.dtype, padded, name), value))
    return out


def tree_leaves(tree: Any) -> tuple[list[tuple[LeafSpec, Any]], Any]:
    """``(spec, leaf)`` for every array of a pytree, keyed by ``jax.tree_util.keystr``, and the
    treedef. Variables of a ``ParamStore`` inside ``tree`` get their logical shapes."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    infos: dict[str, tuple[str, VarInfo]] = {}
    stores, _ = jax.tree_util.tree_flatten_with_path(
        tree, is_leaf=lambda x: isinstance(x, ParamStore))
    for path, node in stores:
        if isinstance(node, ParamStore):
            for name, info in node.infos().items():
                key = jax.tree_util.keystr((*path, jax.tree_util.DictKey(name)))
                infos[key] = (name, info)
    out = []
    for path, leaf in flat:
        key = jax.tree_util.keystr(path)
        if key in infos:
            name, info = infos[key]
            padded = None if info.physical_shape is None else info.partition.axis
            spec = LeafSpec(key, info.shape, info.dtype, padded, name)
        else:
            if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
                raise CheckpointError(
                    f"extra: leaf {key} is a {type(leaf).__name__}, not an array. Checkpoints "
                    "save arrays only; wrap numbers with jnp.asarray (and keys with "
                    "jax.random.key_data).")
            spec = LeafSpec(key, tuple(leaf.shape), np.dtype(leaf.dtype))
        out.append((spec, leaf))
    return out, treedef


# ---------------------------------------------------------------------------------- JSON


def _spec_to_json(spec: Any) -> Any:
    if spec is None:
        return None
    return [list(e) if isinstance(e, tuple | list) else e for e in spec]


def varinfo_to_json(info: VarInfo) -> dict[str, Any]:
    """The serialisable fields of a ``VarInfo``; callables are only flagged (``has_...``)."""
    part = info.partition
    partition = None if part is None else {
        "full_shape": list(part.full_shape), "axis": part.axis, "offsets": list(part.offsets),
        "sizes": list(part.sizes), "spec": _spec_to_json(part.spec)}
    return {
        "shape": list(info.shape), "dtype": info.dtype.name, "trainable": info.trainable,
        "collections": list(info.collections), "partition": partition,
        "physical_shape": None if info.physical_shape is None else list(info.physical_shape),
        "stacked": info.stacked, "has_regularizer": info.regularizer is not None,
        "has_constraint": info.constraint is not None,
    }


def varinfo_from_json(data: Mapping[str, Any]) -> VarInfo:
    """The ``VarInfo`` of a checkpointed variable at its logical layout (no padding, no
    callables: ``regularizer``/``constraint`` come from a restore target)."""
    part = data["partition"]
    partition = None
    if part is not None:
        spec = part["spec"]
        partition = PartitionInfo(
            tuple(part["full_shape"]), part["axis"], tuple(part["offsets"]), tuple(part["sizes"]),
            spec=None if spec is None else PartitionSpec(
                *[tuple(e) if isinstance(e, list) else e for e in spec]))
    return VarInfo(tuple(data["shape"]), jnp.dtype(data["dtype"]), bool(data["trainable"]),
                   tuple(data["collections"]), partition, stacked=int(data["stacked"]))


def leaf_to_json(spec: LeafSpec, checksum: int | None) -> dict[str, Any]:
    return {"shape": list(spec.shape), "dtype": spec.dtype.name, "checksum": checksum}


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------- comparing


def _listed(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_LIST_LIMIT])
    return shown + (f", ... ({len(keys) - _LIST_LIMIT} more)" if len(keys) > _LIST_LIMIT else "")


def check_match(where: str, what: str, saved: Mapping[str, Mapping[str, Any]],
                target: list[LeafSpec]) -> None:  # fmt: skip
    """Raises one ``CheckpointMismatchError`` listing every difference between the saved leaves
    (``{key: {"shape", "dtype"}}``) and the target's, or returns."""
    wanted = {s.key: s for s in target}
    missing = sorted(set(wanted) - set(saved))
    unexpected = sorted(set(saved) - set(wanted))
    problems = []
    if missing:
        problems.append(f"missing from the checkpoint: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected (in the checkpoint, not in the target): "
                        f"{_listed(unexpected)}")
    for key in sorted(set(wanted) & set(saved)):
        spec, entry = wanted[key], saved[key]
        found_shape, found_dtype = tuple(entry["shape"]), jnp.dtype(entry["dtype"])
        if found_shape != spec.shape:
            problems.append(f"{key!r}: the checkpoint has shape={found_shape}, the target "
                            f"expects shape={spec.shape}")
        elif found_dtype != spec.dtype:
            problems.append(f"{key!r}: the checkpoint has dtype={found_dtype.name}, the target "
                            f"expects dtype={spec.dtype.name}")
    if problems:
        raise CheckpointMismatchError(
            f"{where}: the checkpoint's {what} do not match the restore target (a checkpoint of "
            f"another model?):\n  " + "\n  ".join(problems) + "\nRestore into the abstract "
            "store of the model that saved it (model.init_abstract(rng, *args)).")


# ------------------------------------------------------------------------------- checksums


def _bits(x: Any) -> Any:
    """The elements of ``x`` as uint32 words (one per element)."""
    dtype = np.dtype(x.dtype)
    if dtype == np.bool_:
        return x.astype(jnp.uint32)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        re, im = _bits(jnp.real(x)), _bits(jnp.imag(x))
        return re ^ (im * jnp.uint32(0x27D4EB2F))
    size = dtype.itemsize
    if size in (1, 2, 4):
        unsigned = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32}[size]
        return jax.lax.bitcast_convert_type(x, unsigned).astype(jnp.uint32)
    words = jax.lax.bitcast_convert_type(x, jnp.uint32)  # 8 bytes: (..., 2)
    return words[..., 0] ^ (words[..., 1] * jnp.uint32(0x27D4EB2F))


def _checksum(x: Any, spec: LeafSpec) -> Any:
    """Order-independent uint32 hash of the logical elements of ``x`` and their positions."""
    logical = spec.shape
    index = jnp.zeros(x.shape, jnp.uint32)
    stride = 1
    for d in reversed(range(len(logical))):
        iota = jax.lax.broadcasted_iota(jnp.uint32, x.shape, d)
        index = index + iota * jnp.uint32(stride % (1 << 32))
        stride *= max(logical[d], 1)
    v = _bits(x) ^ (index * jnp.uint32(0x9E3779B9))
    v = v * jnp.uint32(0x85EBCA6B)
    v = v ^ (v >> 13)
    if spec.padded_axis is not None:
        rows = jax.lax.broadcasted_iota(jnp.int32, x.shape, spec.padded_axis)
        v = jnp.where(rows < logical[spec.padded_axis], v, jnp.uint32(0))
    return jnp.sum(v, dtype=jnp.uint32)


@functools.partial(jax.jit, static_argnums=1)
def _checksums(leaves: list[Any], specs: tuple[LeafSpec, ...]) -> Any:
    return jnp.stack([_checksum(x, s) for x, s in zip(leaves, specs, strict=True)])


def checksums(pairs: list[tuple[LeafSpec, Any]]) -> list[int]:
    """The checksum of every ``(spec, array)``, in one jitted call (nothing gathered)."""
    groups: dict[Any, list[int]] = {}  # one jitted call per set of devices
    for i, (_, v) in enumerate(pairs):
        groups.setdefault(frozenset(v.sharding.device_set), []).append(i)
    result = [0] * len(pairs)
    for indices in groups.values():
        out = _checksums([pairs[i][1] for i in indices], tuple(pairs[i][0] for i in indices))
        for i, c in zip(indices, np.asarray(out.addressable_data(0)), strict=True):
            result[i] = int(c)
    return result


def verify_checksums(where: str, pairs: list[tuple[LeafSpec, Any]],
                     expected: Mapping[str, int | None]) -> None:  # fmt: skip
    """Raises ``CheckpointCorruptError`` naming every array whose checksum is not the saved one."""
    bad = [s.key for (s, _), c in zip(pairs, checksums(pairs), strict=True)
           if expected.get(s.key) is not None and expected[s.key] != c]
    if bad:
        raise CheckpointCorruptError(
            f"{where}: the data of {len(bad)} array(s) differ from what was saved (checksum "
            f"mismatch): {_listed(bad)}. The checkpoint files are corrupted; restore another "
            "step.")


def _zero_padding_impl(x: Any, spec: LeafSpec) -> Any:
    rows = jax.lax.broadcasted_iota(jnp.int32, x.shape, spec.padded_axis)
    return jnp.where(rows < spec.shape[spec.padded_axis], x, jnp.zeros((), x.dtype))


@functools.partial(jax.jit, static_argnums=1)
def _zero_padding(leaves: list[Any], specs: tuple[LeafSpec, ...]) -> list[Any]:
    return [_zero_padding_impl(x, s) for x, s in zip(leaves, specs, strict=True)]


def zero_padding(pairs: list[tuple[LeafSpec, Any]]) -> list[Any]:
    """The arrays with the padding rows of padded variables set to zero, in place on their
    shards: a checkpoint's padding is zero whatever a ``jax.tree.map`` put there."""
    padded = [i for i, (s, _) in enumerate(pairs) if s.padded_axis is not None]
    values = [v for _, v in pairs]
    if padded:
        zeroed = _zero_padding([values[i] for i in padded], tuple(pairs[i][0] for i in padded))
        for i, z in zip(padded, zeroed, strict=True):
            values[i] = z
    return values


__all__ = ["CheckpointCorruptError", "CheckpointError", "CheckpointMismatchError",
           "CheckpointNotFoundError", "FORMAT_VERSION", "LeafSpec", "check_match", "checksums",
           "dumps", "leaf_to_json", "store_leaves", "tree_leaves", "varinfo_from_json",
           "varinfo_to_json", "verify_checksums", "zero_padding"]
