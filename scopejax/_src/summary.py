"""``summary``: a table of a store's variables (shape, dtype, size, placement), without computing.

A :class:`Summary` is a value: one :class:`SummaryRow` per variable, optional per-scope
:class:`SummaryGroup` subtotals and the :class:`SummaryTotals`. It is built from a ``ParamStore``
(concrete, or abstract from ``model.init_abstract``) or from a ``Transformed`` model and example
inputs (through ``init_abstract``: nothing is initialised). Rendering lives in
``summary_render.py``: plain text and markdown for logs, a ``rich`` table in a terminal.

Sizes: ``params`` and ``bytes`` count the logical variable (``VarInfo.shape``); ``bytes_per_device``
is what the most loaded device holds of the *stored* array (padding of uneven partitions
included), from the leaf's sharding (``sharding.devices_indices_map``). A leaf without a sharding
(``jax.eval_shape`` without a mesh) counts as living on one device.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding

from scopejax._src.errors import MissingExtraError, ScopeJaxError
from scopejax._src.store import ParamStore
from scopejax._src.transform import Transformed
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

_DEFAULT_COLLECTIONS = (GLOBAL_VARIABLES, TRAINABLE_VARIABLES)


class SummaryTypeError(ScopeJaxError, TypeError):
    """``summary`` was given something it cannot summarise (or inputs it cannot use)."""


class SummaryArgumentError(ScopeJaxError, ValueError):
    """An invalid ``summary`` / ``print_summary`` option (``depth``, ``format``...)."""


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """One variable.

    Attributes:
      name: the full variable name.
      shape: the logical shape.
      dtype: the dtype's name (``"float32"``).
      params: the number of elements (of the logical shape).
      bytes: ``params * itemsize``.
      bytes_per_device: the bytes of the stored array on its most loaded device.
      devices: how many devices hold (part of) the stored array (1 without a sharding).
      sharding: the stored array's layout: ``"P('x')"`` for a ``NamedSharding`` that splits
        a dimension, ``"replicated"`` for a copy on every one of several devices, ``""`` on one
        device (or unknown).
      partitions: the TF1 shard count (``VarInfo.partition.num_parts``), ``0`` if unpartitioned.
      partition_axis: the axis the shards split, ``None`` if unpartitioned.
      stored_shape: the shape of the stored array (``VarInfo.physical_shape``: uneven partitions
        are padded), equal to ``shape`` otherwise.
      trainable: ``VarInfo.trainable``.
      collections: every collection the variable is in (rendered without the default
        ``variables`` / ``trainable_variables``).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    params: int
    bytes: int
    bytes_per_device: int
    devices: int
    sharding: str
    partitions: int
    partition_axis: int | None
    stored_shape: tuple[int, ...]
    trainable: bool
    collections: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SummaryGroup:
    """The subtotal of the variables under one scope prefix (``summary(..., depth=k)``).

    ``scope`` is the first ``k`` components of the variables' scope (their name without the last
    component); ``""`` holds the variables at the root scope.
    """

    scope: str
    variables: int
    params: int
    trainable_params: int
    bytes: int
    bytes_per_device: int


@dataclasses.dataclass(frozen=True)
class SummaryTotals:
    """Totals over all variables.

    ``bytes_per_device`` is the sum, on the most loaded device, of what every variable stores
    there (not the sum of the rows' maxima); ``stored_bytes`` counts every stored array once
    (padding included, replicas not).
    """

    variables: int
    params: int
    bytes: int
    trainable_variables: int
    trainable_params: int
    trainable_bytes: int
    stored_bytes: int
    bytes_per_device: int
    devices: int


@dataclasses.dataclass(frozen=True)
class Summary:
    """A parameter summary: rows, optional per-scope groups, totals. Built by :func:`summary`.

    ``str(summary)`` is the plain-text table; :meth:`to_markdown` gives a GitHub table;
    ``rich.print(summary)`` renders a ``rich`` table (needs ``pip install scopejax[ui]``).

    >>> import jax.numpy as jnp
    >>> from scopejax._src.store import ParamStore
    >>> store = ParamStore.from_flat_dict({"dense/kernel": jnp.ones((2, 3)),
    ...                                    "dense/bias": jnp.zeros(3)})
    >>> print(summary(store))
    name          shape   dtype    params  bytes  trainable  collections
    ------------  ------  -------  ------  -----  ---------  -----------
    dense/bias    (3,)    float32       3   12 B  yes
    dense/kernel  (2, 3)  float32       6   24 B  yes
    Total: 2 variables, 9 params, 36 B
    Trainable: 2 variables, 9 params, 36 B; non-trainable: 0 variables, 0 params, 0 B
    >>> summary(store).totals.params
    9
    """

    rows: tuple[SummaryRow, ...]
    totals: SummaryTotals
    groups: tuple[SummaryGroup, ...] = ()
    depth: int | None = None

    @property
    def placed(self) -> bool:
        """Whether any variable is partitioned or spread over several devices (then the
        renderings add the per-device, partition and sharding columns)."""
        return any(row.partitions or row.devices > 1 for row in self.rows)

    def to_text(self) -> str:
        """A plain-text table (aligned columns, no trailing spaces) followed by the totals."""
        from scopejax._src.summary_render import to_text

        return to_text(self)

    def to_markdown(self) -> str:
        """A GitHub-flavoured markdown table followed by the totals."""
        from scopejax._src.summary_render import to_markdown

        return to_markdown(self)

    def to_rich(self) -> Any:
        """A ``rich.table.Table`` (raises :class:`MissingExtraError` without ``rich``)."""
        from scopejax._src.summary_render import to_rich

        return to_rich(self)

    def render(self, format: str = "text", *, width: int = 120) -> str:
        """The summary as a string: ``"text"``, ``"markdown"`` or ``"rich"`` (``rich``'s table
        drawn ``width`` columns wide, without colours)."""
        from scopejax._src.summary_render import render

        return render(self, format, width=width)

    def __str__(self) -> str:
        return self.to_text()

    def __rich__(self) -> Any:
        return self.to_rich()


def summary(
    target: ParamStore | Transformed,
    *example_args: Any,
    rng: Any = None,
    depth: int | None = None,
    example_kwargs: Mapping[str, Any] | None = None,
) -> Summary:
    """Summarises the variables of a store, or of a model on example inputs, computing nothing.

    Args:
      target: a ``ParamStore`` (concrete, or abstract from ``model.init_abstract``), or a
        ``scopejax.transform`` result; a model is summarised through ``init_abstract`` on
        ``example_args`` / ``example_kwargs`` (shapes and shardings only, no FLOPs).
      *example_args: the model's example inputs (arrays or ``jax.ShapeDtypeStruct``s).
      rng: the key given to ``init_abstract`` (default ``jax.random.key(0)``; only its type
        matters).
      depth: group the variables by the first ``depth`` components of their scope, with
        subtotals (``None``: one row per variable).
      example_kwargs: keyword arguments for the model.

    Raises:
      SummaryTypeError: ``target`` is neither a store nor a model, or inputs were given with a
        store.
      SummaryArgumentError: ``depth`` is not a positive int.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def mlp(x):
    ...     for units in (4, 2):
    ...         with scopejax.variable_scope(None, default_name="dense"):
    ...             x = x @ scopejax.get_variable("kernel", [x.shape[-1], units])
    ...     return x
    >>> s = summary(scopejax.transform(mlp), jax.ShapeDtypeStruct((8, 3), jnp.float32), depth=1)
    >>> [(g.scope, g.params) for g in s.groups], s.totals.params
    ([('dense', 12), ('dense_1', 8)], 20)

    TF1 equivalent: ``slim.model_analyzer.analyze_vars(tf.global_variables(), print_info=True)``.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                              or depth < 1):  # fmt: skip
        raise SummaryArgumentError(
            f"summary: depth must be a positive int (the number of leading scope components to "
            f"group by) or None for one row per variable, got {depth!r}."
        )
    if isinstance(target, Transformed):
        key = jax.random.key(0) if rng is None else rng
        store = _abstract_store(target, key, example_args, dict(example_kwargs or {}))
    elif isinstance(target, ParamStore):
        if example_args or example_kwargs or rng is not None:
            raise SummaryTypeError(
                "summary: example inputs (or rng=) were given with a ParamStore, which already "
                "holds the variables. Pass the model (the scopejax.transform result) to summarise "
                "it on inputs, or drop the inputs."
            )
        store = target
    else:
        raise SummaryTypeError(_target_message(target))
    rows, device_bytes, stored_bytes = _rows(store)
    groups = _groups(rows, device_bytes, depth) if depth is not None else ()
    return Summary(rows, _totals(rows, device_bytes, stored_bytes), groups, depth)


def _abstract_store(model: Transformed, rng: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> ParamStore:  # fmt: skip
    """``model.init_abstract(rng, *args, **kwargs)``, tracing only the array inputs.

    ``init_abstract`` hands every argument to ``jax.eval_shape``, which would turn Python
    numbers (a layer width, a flag) into tracers; ``init`` itself keeps them static. So the
    non-array inputs are closed over, as ``init`` does under a mesh.
    """
    leaves, treedef = jax.tree.flatten((args, kwargs))
    traced = [i for i, leaf in enumerate(leaves)
              if isinstance(leaf, jax.Array | np.ndarray | jax.ShapeDtypeStruct)]

    def init(key: Any, *arrays: Any) -> ParamStore:
        filled = list(leaves)
        for i, array in zip(traced, arrays, strict=True):
            filled[i] = array
        call_args, call_kwargs = jax.tree.unflatten(treedef, filled)
        return model.init(key, *call_args, **call_kwargs)

    return model._replace(init=init).init_abstract(rng, *(leaves[i] for i in traced))


def _target_message(target: Any) -> str:
    found = type(target).__name__
    if isinstance(target, Mapping):
        fix = ("convert it first: ParamStore.from_flat_dict(d) / from_nested_dict(d), or "
               "scopejax.interop.from_flax_variables / from_haiku_params")
    elif callable(target):
        fix = "wrap the model function with scopejax.transform(fn) and pass that"
    else:
        fix = "pass model.init(...) / model.init_abstract(...) or the model itself"
    return (f"summary: expected a scopejax.ParamStore or a scopejax.transform result "
            f"(Transformed), got {found}; {fix}.")


# ---------------------------------------------------------------------------------- building


def _rows(store: ParamStore) -> tuple[tuple[SummaryRow, ...], tuple[dict[Any, int], ...], int]:
    """The rows, for each row the bytes it stores per device, and the stored bytes in all."""
    leaves = jax.tree.leaves(store)
    placement_cache: dict[Any, tuple[dict[Any, int], str]] = {}
    rows, per_device, stored_bytes = [], [], 0
    for (name, info), leaf in zip(store.infos().items(), leaves, strict=True):
        itemsize = np.dtype(info.dtype).itemsize
        stored = tuple(info.stored_shape)
        elements, layout = _placement(leaf, stored, placement_cache)
        device_bytes = {d: n * itemsize for d, n in elements.items()}
        params = math.prod(info.shape)
        part = info.partition
        rows.append(SummaryRow(
            name=name, shape=info.shape, dtype=np.dtype(info.dtype).name, params=params,
            bytes=params * itemsize, bytes_per_device=max(device_bytes.values(), default=0),
            devices=len(device_bytes), sharding=layout,
            partitions=0 if part is None else part.num_parts,
            partition_axis=None if part is None else part.axis, stored_shape=stored,
            trainable=info.trainable, collections=info.collections,
        ))
        per_device.append(device_bytes)
        stored_bytes += math.prod(stored) * itemsize
    return tuple(rows), tuple(per_device), stored_bytes


def _placement(leaf: Any, shape: tuple[int, ...],
               cache: dict[Any, tuple[dict[Any, int], str]]) -> tuple[dict[Any, int], str]:
    """``({device: elements held}, layout text)`` of a stored leaf of ``shape``."""
    try:
        sharding = leaf.sharding
    except Exception:  # a tracer's sharding may be unknown; count it as one device
        sharding = None
    if sharding is None:
        return {None: math.prod(shape)}, ""
    key = (sharding, shape)
    if key not in cache:
        elements = {device: _elements(indices, shape)
                    for device, indices in sharding.devices_indices_map(shape).items()}
        cache[key] = elements, _layout(sharding, len(shape), len(elements))
    return cache[key]


def _elements(indices: tuple[slice, ...], shape: tuple[int, ...]) -> int:
    return math.prod(len(range(*index.indices(dim))) for index, dim in zip(indices, shape,
                                                                             strict=True))


def _layout(sharding: Any, ndim: int, devices: int) -> str:
    if devices <= 1:
        return ""
    if sharding.is_fully_replicated:
        return "replicated"
    if isinstance(sharding, NamedSharding):  # canonical: P('x', None) shows as P('x')
        spec = list(sharding.spec)
        while spec and spec[-1] is None:
            spec.pop()
        return f"P({', '.join(map(repr, spec))})"
    return type(sharding).__name__


def _scope_prefix(name: str, depth: int) -> str:
    return "/".join(name.split("/")[:-1][:depth])


def _groups(rows: tuple[SummaryRow, ...], device_bytes: tuple[dict[Any, int], ...],
            depth: int) -> tuple[SummaryGroup, ...]:  # fmt: skip
    members: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        members.setdefault(_scope_prefix(row.name, depth), []).append(i)
    groups = []
    for scope in sorted(members):
        chosen = [rows[i] for i in members[scope]]
        groups.append(SummaryGroup(
            scope=scope, variables=len(chosen), params=sum(r.params for r in chosen),
            trainable_params=sum(r.params for r in chosen if r.trainable),
            bytes=sum(r.bytes for r in chosen),
            bytes_per_device=_peak(device_bytes[i] for i in members[scope]),
        ))
    return tuple(groups)


def _peak(per_variable: Any) -> int:
    """The bytes on the most loaded device, summing what each variable holds there."""
    load: dict[Any, int] = {}
    for device_bytes in per_variable:
        for device, n in device_bytes.items():
            load[device] = load.get(device, 0) + n
    return max(load.values(), default=0)


def _totals(rows: tuple[SummaryRow, ...], device_bytes: tuple[dict[Any, int], ...],
            stored_bytes: int) -> SummaryTotals:
    trainable = [r for r in rows if r.trainable]
    devices = {d for per in device_bytes for d in per}
    return SummaryTotals(
        variables=len(rows), params=sum(r.params for r in rows), bytes=sum(r.bytes for r in rows),
        trainable_variables=len(trainable), trainable_params=sum(r.params for r in trainable),
        trainable_bytes=sum(r.bytes for r in trainable),
        stored_bytes=stored_bytes,
        bytes_per_device=_peak(device_bytes), devices=len(devices),
    )


def extra_collections(info_or_row: VarInfo | SummaryRow) -> tuple[str, ...]:
    """The collections beyond the defaults (``variables``, ``trainable_variables``)."""
    return tuple(c for c in info_or_row.collections if c not in _DEFAULT_COLLECTIONS)


# Doctest finds class docstrings only where ``__module__`` points; keep Summary's collected if the
# package relabels it ``scopejax.Summary``.
__test__ = {"Summary": Summary}

__all__ = ["MissingExtraError", "Summary", "SummaryArgumentError", "SummaryGroup", "SummaryRow",
           "SummaryTotals", "SummaryTypeError", "summary"]
