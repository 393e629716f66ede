"""JAX-native partitioners: a ``PartitionSpec`` (or logical axis names) instead of shard counts.

A TF1 partitioner returns shard counts, ``[8, 1]``, and scopejax picks mesh axes for them. A JAX
user usually knows the mesh axes instead: a partitioner may return a
``jax.sharding.PartitionSpec`` (``P("model", None)``), used as the variable's sharding as is.
:func:`logical_partitioner` goes one step further, in the spirit of Flax's logical axis rules: a
variable names its dimensions (``("vocab", "embed")``) and an explicit rules table maps names to
mesh axes, so a model is written once and laid out per mesh.

TF1's view is kept: the one sharded dimension gives the variable TF's shard layout
(``v/part_0`` ... as many parts as the mesh axes' total size), so names, checkpoints and reuse
checks work as for a count partitioner. TF1 splits a variable along one dimension only; a spec
that shards two dimensions is refused with a clear error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from jax.sharding import Mesh, PartitionSpec

from scopejax._src.errors import ScopeTypeError, call_user
from scopejax._src.partitioners import (
    PartitionerError,
    call_partitioner,
    check_partitioner,
    check_partitions,
)

Shape = tuple[int, ...]


def _spec_axes(entry: Any) -> tuple[str, ...]:
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, tuple | list) else (entry,)


def counts_from_spec(name: str, spec: PartitionSpec, shape: Shape, mesh: Mesh | None,
                     known: Shape | None = None) -> Shape:  # fmt: skip
    """TF1 shard counts of a variable sharded by ``spec`` on ``mesh`` (one count > 1 at most).

    Without a mesh, ``known`` (the counts recorded in the params, during apply) stands in.
    """
    if mesh is None and known is not None:
        return known
    if mesh is None:
        raise PartitionerError(
            f"Variable {name}: its partitioner returned {spec}, which needs a mesh to count "
            "shards. Pass transform(fn, mesh=...) or set one with jax.set_mesh."
        )
    if len(spec) > len(shape):
        raise PartitionerError(
            f"Variable {name}: partition spec {spec} has {len(spec)} entries for a variable of "
            f"rank {len(shape)} (shape {shape})."
        )
    counts = []
    for d in range(len(shape)):
        axes = _spec_axes(spec[d]) if d < len(spec) else ()
        unknown = [a for a in axes if a not in mesh.shape]
        if unknown:
            raise PartitionerError(
                f"Variable {name}: partition spec {spec} names mesh axes {unknown} that the mesh "
                f"does not have (its axes: {list(mesh.axis_names)})."
            )
        counts.append(math.prod(mesh.shape[a] for a in axes))
    if sum(c > 1 for c in counts) > 1:
        raise PartitionerError(
            f"Variable {name}: partition spec {spec} shards {sum(c > 1 for c in counts)} "
            "dimensions; TF1 partitioning (shard names, checkpoints) splits one dimension only. "
            "Shard one dimension per variable."
        )
    return check_partitions(name, shape, counts)


def resolve(name: str, partitioner: Any, shape: Any, dtype: Any, mesh: Mesh | None,
            known: Shape | None = None) -> tuple[Shape, PartitionSpec | None]:  # fmt: skip
    """``(shard counts, spec or None)`` of calling ``partitioner`` once for a variable.

    TF's checks (fully defined shape, rank >= 1, the result's validity) run as for any
    partitioner; a ``PartitionSpec`` result is turned into counts on ``mesh``.
    """
    check_partitioner(name, partitioner)
    returned: list[Any] = []

    def recording(shape: Shape, dtype: Any) -> Any:
        result = call_user(partitioner, f"partitioner of variable {name}",
                           "partitioner(shape=..., dtype=...)", shape=shape, dtype=dtype)
        returned.append(result)
        return [1] * len(shape) if isinstance(result, PartitionSpec) else result

    counts = call_partitioner(name, recording, shape, dtype)
    if returned and isinstance(returned[0], PartitionSpec):
        spec = returned[0]
        return counts_from_spec(name, spec, tuple(shape), mesh, known), spec
    return counts, None


@dataclasses.dataclass(frozen=True)
class LogicalPartitioner:
    """A partitioner naming the variable's dimensions; ``rules`` map names to mesh axes."""

    axes: tuple[str | None, ...]
    rules: tuple[tuple[str, Any], ...]

    def __call__(self, shape: Any = None, dtype: Any = None) -> PartitionSpec:
        shape = tuple(shape)
        if len(self.axes) != len(shape):
            raise PartitionerError(
                f"logical_partitioner: {len(self.axes)} axis names {self.axes} for a variable "
                f"of rank {len(shape)} (shape {shape}); give one name (or None) per dimension."
            )
        table = dict(self.rules)
        missing = [a for a in self.axes if a is not None and a not in table]
        if missing:
            raise PartitionerError(
                f"logical_partitioner: no rule for logical axes {missing}; the rules cover "
                f"{sorted(table)}. Add a rule (use None to keep an axis unsharded)."
            )
        return PartitionSpec(*(None if a is None else table[a] for a in self.axes))


def logical_partitioner(axes: Sequence[str | None],
                        rules: Mapping[str, Any] | Sequence[tuple[str, Any]]
                        ) -> LogicalPartitioner:  # fmt: skip
    """A partitioner from logical axis names and an explicit rules table.

    >>> rules = {"vocab": "model", "embed": None}
    >>> logical_partitioner(("vocab", "embed"), rules)(shape=(50257, 512))
    P('model', None)

    Use it per variable or as a scope default (``variable_scope(..., partitioner=...)``); the
    rules are explicit, so the same model runs on another mesh by swapping the table.
    """
    if isinstance(axes, str) or not isinstance(axes, Sequence):
        raise ScopeTypeError(
            f"logical_partitioner: axes must be a sequence of names, got {axes!r}."
        )
    items = tuple(rules.items()) if isinstance(rules, Mapping) else tuple(tuple(r) for r in rules)
    if not all(len(r) == 2 and isinstance(r[0], str) for r in items):
        raise ScopeTypeError(
            f"logical_partitioner: rules must map logical axis names to mesh axes, got {rules!r}."
        )
    return LogicalPartitioner(tuple(axes), items)


__all__ = ["LogicalPartitioner", "counts_from_spec", "logical_partitioner", "resolve"]
