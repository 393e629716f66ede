"""Random initial values of partitioned variables, drawn row by row with bounded memory.

Drawing a 2 GiB array with ``jax.random`` needs about three times its size in temporaries
(threefry counters and bits), on every device at once: a sharded ``jax.jit`` init peaks at 4x the
variable. Here a partitioned variable with an elementwise initializer is defined row by row along
its partition axis: row ``r`` is ``init(fold_in(key, r), row_shape)`` with the variable's
full-shape fans. Each device fills only its own rows, a group of rows at a time
(``shard_map`` + ``fori_loop`` writing in place), so temporaries stay at one group per device,
and the values depend on nothing but the key and the row: sharded and unsharded inits, any mesh
and any device count agree bitwise. Padding rows (past the variable's length) are zero.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from scopejax._src.initializer_calls import call_initializer

BLOCK_BYTES = 4 << 20  # rows drawn per loop step, per device


class _FullShape:
    """``partition_info`` for the initializer: fans from the variable's full shape."""

    def __init__(self, full_shape: tuple[int, ...]) -> None:
        self.full_shape = list(full_shape)


def group_rows(count: int, row_bytes: int) -> int:
    """The largest divisor of ``count`` whose rows fit ``BLOCK_BYTES`` (at least 1)."""
    limit = max(1, BLOCK_BYTES // max(1, row_bytes))
    if count <= limit:
        return max(1, count)
    return max(d for d in range(1, limit + 1) if count % d == 0)


class BlockedDraw:
    """The row-by-row value of one partitioned variable (see the module docstring)."""

    def __init__(self, initializer: Any, shape: tuple[int, ...], axis: int, dtype: Any) -> None:
        self.initializer, self.shape, self.axis, self.dtype = initializer, shape, axis, dtype
        self.row_shape = shape[:axis] + shape[axis + 1:]
        self.row_bytes = math.prod(self.row_shape) * np.dtype(dtype).itemsize
        self.info = _FullShape(shape)

    def _identity(self) -> tuple[Any, ...]:
        return (self.initializer, self.shape, self.axis, np.dtype(self.dtype))

    # Equal draws share one compiled loop (`_drawn_rows` is jitted with the draw static): an
    # eager init would otherwise trace and compile a fresh fori_loop body at every call.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlockedDraw) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _row(self, key: Any, r: Any) -> Any:
        return call_initializer(self.initializer, jax.random.fold_in(key, r), self.row_shape,
                                self.dtype, self.info)  # fmt: skip

    def _rows(self, key: Any, start: Any, count: int) -> Any:
        """Rows ``[start, start + count)``, rows past the variable's length zero."""
        axis, length = self.axis, self.shape[self.axis]
        group = group_rows(count, self.row_bytes)
        out_shape = list(self.shape)
        out_shape[axis] = count

        def body(j: Any, out: Any) -> Any:
            rows = start + j * group + jnp.arange(group)
            block = jax.vmap(lambda r: self._row(key, r))(rows)  # (group, *row_shape)
            keep = (rows < length).reshape((group,) + (1,) * len(self.row_shape))
            block = jnp.moveaxis(jnp.where(keep, block, jnp.zeros((), block.dtype)), 0, axis)
            return jax.lax.dynamic_update_slice_in_dim(out, block, j * group, axis=axis)

        return jax.lax.fori_loop(0, count // group, body, jnp.zeros(out_shape, self.dtype))

    def value(self, key: Any) -> Any:
        """The whole variable, on the current device(s)."""
        try:
            hash(self)
        except TypeError:  # an unhashable initializer: no compiled loop to share
            return self._rows(key, 0, self.shape[self.axis])
        return _drawn_rows(self, key, self.shape[self.axis])

    def sharded(self, key: Any, sharding: NamedSharding, physical: tuple[int, ...]) -> Any:
        """The padded variable, each device drawing only its own rows."""
        spec = tuple(sharding.spec) + (None,) * (len(physical) - len(sharding.spec))
        entry = spec[self.axis]
        axes = () if entry is None else (tuple(entry) if isinstance(entry, tuple) else (entry,))
        if not axes:
            return self._rows(key, 0, physical[self.axis])
        parts = math.prod(sharding.mesh.shape[a] for a in axes)
        local = physical[self.axis] // parts

        def per_device(key: Any) -> Any:
            return self._rows(key, jax.lax.axis_index(axes) * local, local)

        return jax.shard_map(per_device, mesh=sharding.mesh, in_specs=PartitionSpec(),
                             out_specs=PartitionSpec(*spec), check_vma=False)(key)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(0, 2))
def _drawn_rows(draw: BlockedDraw, key: Any, count: int) -> Any:
    return draw._rows(key, 0, count)


__all__ = ["BlockedDraw", "group_rows"]
