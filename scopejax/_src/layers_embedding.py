"""``embedding_lookup``: TF1's ``tf.compat.v1.nn.embedding_lookup``, partitioned tables included.

scopejax stores a partitioned variable as one logical array (sharded over the mesh), so a lookup
is one gather. TF1, however, looks a ``PartitionedVariable`` up shard by shard with
``partition_strategy="mod"`` by default: id ``i`` reads row ``i // n`` of shard ``i % n``, which
is *not* logical row ``i`` of the concatenated table. To give ported code TF's numbers, a
partitioned variable of the current call is recognised and its ids remapped to the row TF would
read (still one gather). ``partition_strategy="div"`` reads logical row ``i``, as TF does for
shards laid out by TF's partitioners. A Python list of shards (TF's ``params`` list) is
assembled in id order first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, state
from scopejax._src.errors import ScopeTypeError, ShapeMismatchError, UnsupportedFeatureError

_WHAT = "embedding_lookup"


def _partition_of(params: Any) -> tuple[str, Any] | None:
    """``(name, PartitionInfo)`` if ``params`` is a partitioned variable of the current call."""
    frame = context._FRAME.get()
    if frame is None:
        return None
    try:
        name, _, info = state._find(frame.run, frame.scope.name, params, _WHAT)
    except ScopeTypeError:  # an ordinary array
        return None
    return (name, info.partition) if info.partition is not None else None


def _mod_sizes(total: int, n: int) -> list[int]:
    return [len(range(p, total, n)) for p in range(n)]


def _div_sizes(total: int, n: int) -> list[int]:
    q, extras = divmod(total, n)
    return [q + 1 if p < extras else q for p in range(n)]


def _assemble(shards: Sequence[Any], strategy: str) -> Any:
    """TF's ``params`` list as one table whose row ``i`` is what TF reads for id ``i``."""
    shards = [jnp.asarray(s) for s in shards]
    rest = {tuple(s.shape[1:]) for s in shards}
    if any(s.ndim < 1 for s in shards) or len(rest) != 1:
        raise ShapeMismatchError(
            f"{_WHAT}: the shards in params must have the same shape after the first axis; found "
            f"shapes {[tuple(s.shape) for s in shards]}."
        )
    sizes = [s.shape[0] for s in shards]
    total, n = sum(sizes), len(shards)
    want = (_mod_sizes if strategy == "mod" else _div_sizes)(total, n)
    if sizes != want:
        raise ShapeMismatchError(
            f"{_WHAT}: with partition_strategy={strategy!r}, {n} shards of {total} ids in all "
            f"must have {want} rows; found {sizes}. (TF1's partitioners give the first "
            "`total % n` shards one extra row.)"
        )
    if strategy == "div":
        return jnp.concatenate(shards, axis=0)
    rows = want[0]
    padded = [jnp.pad(s, [(0, rows - s.shape[0])] + [(0, 0)] * (s.ndim - 1)) for s in shards]
    return jnp.stack(padded, axis=1).reshape(rows * n, *shards[0].shape[1:])[:total]


def _clip(values: Any, ids_rank: int, max_norm: float) -> Any:
    """TF's ``clip_by_norm`` over the embedding axes of each looked-up row."""
    axes = tuple(range(ids_rank, values.ndim))
    l2sum = jnp.sum(values * values, axis=axes, keepdims=True)
    positive = l2sum > 0
    l2norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, l2sum, 1.0)), l2sum)
    clip = jnp.asarray(max_norm, values.dtype)
    return values * clip / jnp.maximum(l2norm, clip)


def embedding_lookup(
    params: Any,
    ids: Any,
    partition_strategy: str = "mod",
    name: str | None = None,
    validate_indices: bool = True,
    max_norm: float | None = None,
) -> Any:
    """Rows of an embedding table: ``result[..., :] = params[ids[...], :]`` (TF's reading).

    Args:
      params: the table (what ``get_variable`` returned; a partitioned variable is one array),
        or a list of shards as TF1 code passes them.
      ids: an integer array of any shape; the result has shape ``ids.shape + params.shape[1:]``.
      partition_strategy: ``"mod"`` (TF1's default) or ``"div"``; matters only for a list of
        shards or a partitioned variable. ``"mod"`` reproduces TF's reading of a
        ``PartitionedVariable`` (id ``i`` -> row ``i // n`` of shard ``i % n``).
      name: accepted for TF1 compatibility (an op name; nothing is created).
      validate_indices: ignored, as in TF1.
      max_norm: if given, each looked-up row whose l2 norm exceeds it is scaled down to it.

    Concrete out-of-range ids raise; under ``jax.jit`` JAX's gather clamps them instead.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> def embed(ids):
    ...     table = scopejax.get_variable("emb", [10, 2],
    ...                                   partitioner=scopejax.fixed_size_partitioner(3))
    ...     return layers.embedding_lookup(table, ids), table
    >>> net = scopejax.transform(embed)
    >>> params = net.init(jax.random.key(0), jnp.arange(3))
    >>> rows, table = net.apply(params, jnp.array([1, 4]))
    >>> bool((rows == table[jnp.array([4, 5])]).all())  # TF's "mod" reading of shards 4,3,3
    True

    TF1 equivalent: ``tf.compat.v1.nn.embedding_lookup``.
    """
    del name, validate_indices
    if partition_strategy not in ("mod", "div"):
        raise ScopeTypeError(
            f"{_WHAT}: partition_strategy must be 'mod' or 'div', got {partition_strategy!r}."
        )
    ids = jnp.asarray(ids) if not isinstance(ids, jax.Array) else ids
    if not jnp.issubdtype(ids.dtype, jnp.integer):
        raise ScopeTypeError(
            f"{_WHAT}: ids must be integers, got dtype {ids.dtype}. Cast them: ids.astype(int)."
        )
    if isinstance(params, list | tuple):
        if not params:
            raise ScopeTypeError(f"{_WHAT}: params is an empty list; give a table or its shards.")
        table = params[0] if len(params) == 1 else _assemble(params, partition_strategy)
        rows = ids
    else:
        table, rows = params, ids
        found = _partition_of(params)
        if found is not None and partition_strategy == "mod":
            var, part = found
            if part.axis != 0:
                raise UnsupportedFeatureError(
                    f"{_WHAT}: variable {var} is partitioned along axis {part.axis}; TF1 looks "
                    "tables up by shards of rows (axis 0). Partition the table along axis 0."
                )
            n = len(part.sizes)
            rows = jnp.asarray(part.offsets, ids.dtype)[ids % n] + ids // n
    if jnp.ndim(table) < 1:
        raise ShapeMismatchError(f"{_WHAT}: params must have rank >= 1, got a scalar.")
    vocab = jnp.shape(table)[0]
    try:
        concrete = np.asarray(ids)
    except jax.errors.TracerArrayConversionError:
        concrete = None
    if concrete is not None and concrete.size and (concrete.min() < 0 or concrete.max() >= vocab):
        raise ShapeMismatchError(
            f"{_WHAT}: ids must lie in [0, {vocab}) for a table of {vocab} rows; found ids from "
            f"{concrete.min()} to {concrete.max()}."
        )
    values = jnp.take(table, rows, axis=0)
    if max_norm is not None:
        values = _clip(values, ids.ndim, max_norm)
    return values


__all__ = ["embedding_lookup"]
