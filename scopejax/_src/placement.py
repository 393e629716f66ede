"""Physical placement of partitioned variables: a partition count becomes a ``NamedSharding``.

A variable that TF1 would split into ``n`` shards along ``axis`` is stored as one global
``jax.Array`` sharded ``n`` ways along that axis. The ``n`` ways come from the mesh:

1. a run of consecutive mesh axes whose sizes multiply to ``n`` (``("data", "model")`` of an
   ``(2, 4)`` mesh for ``n = 8``; ``"model"`` alone for ``n = 4``); else
2. the same devices, in the mesh's order, viewed as an ``(n, devices // n)`` mesh with axes
   ``("parts", "replicas")`` when ``n`` divides the device count (JAX mixes meshes of different
   shapes over the same device order in one jitted call); else
3. a :class:`PlacementError` naming the variable, the count and the mesh. Nothing is ever
   replicated silently.

A dimension that ``n`` does not divide (a 50257-row vocabulary over 8 devices) is stored padded
to the next multiple of ``n`` with zero rows at the end; ``VarInfo.physical_shape`` records the
stored shape, the model and ``store[name]`` see the exact logical shape (a slice), and the
padding gets zero gradients, so optax updates keep it zero.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from scopejax._src.errors import ScopeJaxError, ScopeTypeError
from scopejax._src.varinfo import VarInfo


class PlacementError(ScopeJaxError, ValueError):
    """A partition count that the mesh cannot express."""


def resolve_mesh(mesh: Any, what: str) -> Mesh | None:
    """The mesh to use: ``mesh`` if given, else the one set with ``jax.set_mesh``, else None."""
    if mesh is None:
        if jax.sharding.get_abstract_mesh().empty:
            return None
        try:
            return jax.sharding.get_mesh()
        except ValueError:  # inside jax.jit: only the abstract mesh is known there
            raise PlacementError(
                f"{what}: init runs inside jax.jit under the mesh set with jax.set_mesh, whose "
                "devices are unknown there. Pass the mesh explicitly: transform(fn, mesh=mesh)."
            ) from None
    if not isinstance(mesh, Mesh):
        raise ScopeTypeError(
            f"{what}: mesh must be a jax.sharding.Mesh (e.g. jax.make_mesh((8,), ('x',))), got "
            f"{type(mesh).__name__}."
        )
    return mesh


def _axes_for(mesh: Mesh, n: int) -> tuple[Mesh, tuple[str, ...]] | None:
    names, sizes = mesh.axis_names, [mesh.shape[a] for a in mesh.axis_names]
    for start in range(len(names)):
        product = 1
        for stop in range(start, len(names)):
            product *= sizes[stop]
            if product == n:
                return mesh, tuple(names[start:stop + 1])
            if product > n:
                break
    if mesh.size % n == 0:
        devices = np.asarray(mesh.devices).reshape(n, mesh.size // n)
        kind = mesh.axis_types[0] if len(set(mesh.axis_types)) == 1 else AxisType.Auto
        return Mesh(devices, ("parts", "replicas"), axis_types=(kind, kind)), ("parts",)
    return None


def place(value: Any, sharding: NamedSharding) -> Any:
    """Constrains ``value`` (inside ``init``) to ``sharding``, whatever the mesh's axis types."""
    if AxisType.Explicit in sharding.mesh.axis_types:
        return jax.sharding.reshard(value, sharding)
    return jax.lax.with_sharding_constraint(value, sharding)


def _spec_axes(spec: PartitionSpec, axis: int) -> tuple[str, ...]:
    entry = spec[axis] if axis < len(spec) else None
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, tuple | list) else (entry,)


def layout(name: str, info: VarInfo, mesh: Mesh) -> tuple[NamedSharding, tuple[int, ...]]:
    """The sharding and stored (padded) shape of partitioned variable ``name`` on ``mesh``."""
    part = info.partition
    n, axis = part.num_parts, part.axis
    if part.spec is not None:  # a PartitionSpec partitioner: its spec, on this mesh
        found = mesh, _spec_axes(part.spec, axis)
    elif n == 1:
        return NamedSharding(mesh, PartitionSpec()), info.shape
    else:
        found = _axes_for(mesh, n)
    if found is None:
        shown = ", ".join(f"{a}={mesh.shape[a]}" for a in mesh.axis_names)
        raise PlacementError(
            f"Variable {name} is partitioned into {n} shards, but the mesh ({shown}; "
            f"{mesh.size} devices) has no run of axes of that size and {n} does not divide the "
            f"device count. Use a partition count the mesh can hold (e.g. "
            f"fixed_size_partitioner({mesh.size})), or another mesh."
        )
    target, axes = found
    spec: list[Any] = [None] * len(info.shape)
    if axes:
        spec[axis] = axes if len(axes) > 1 else axes[0]
    shape = list(info.shape)
    shape[axis] = math.ceil(shape[axis] / n) * n
    if shape[axis] != info.shape[axis] and AxisType.Explicit in target.axis_types:
        raise PlacementError(
            f"Variable {name} has {info.shape[axis]} rows along axis {axis}, which its {n} "
            "shards do not divide, so it is stored padded; JAX cannot slice the padding off "
            "under a mesh with Explicit axes. Build the mesh with Auto axes (jax.make_mesh(..., "
            "axis_types=(jax.sharding.AxisType.Auto,) * k)) or choose a dividing shard count."
        )
    while spec and spec[-1] is None:  # the canonical form, as JAX reports specs: P('x')
        spec.pop()
    return NamedSharding(target, PartitionSpec(*spec)), tuple(shape)


def stored_sharding(name: str, info: VarInfo, mesh: Mesh) -> tuple[NamedSharding, tuple[int, ...]]:
    """Where ``init`` puts any variable on ``mesh``: its partition layout, else replicated."""
    if info.partition is None:
        return NamedSharding(mesh, PartitionSpec()), info.shape
    return layout(name, info, mesh)


def pad(value: Any, info: VarInfo, physical_shape: tuple[int, ...]) -> Any:
    """``value`` (logical) with zero rows appended up to ``physical_shape``."""
    if tuple(physical_shape) == tuple(info.shape):
        return value
    axis = info.partition.axis
    widths = [(0, 0)] * len(info.shape)
    widths[axis] = (0, physical_shape[axis] - info.shape[axis])
    return jax.numpy.pad(value, widths)


def logical(value: Any, info: VarInfo) -> Any:
    """The logical view of a stored value (drops the padding rows)."""
    if info.physical_shape is None:
        return value
    if isinstance(value, jax.ShapeDtypeStruct):  # an abstract store (init_abstract)
        return jax.ShapeDtypeStruct(info.shape, value.dtype)
    axis = info.partition.axis
    return jax.lax.slice_in_dim(value, 0, info.shape[axis], axis=axis)


__all__ = ["PlacementError", "layout", "logical", "pad", "place", "resolve_mesh",
           "stored_sharding"]
