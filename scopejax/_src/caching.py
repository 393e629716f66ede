"""``caching_device``: the placement under which the model *reads* a variable.

TF1 cached a variable's value on another device for reading (``caching_device``). Here it is the
placement of the value ``get_variable`` hands the model, independent of where the store keeps it:
e.g. stored sharded (FSDP-like) and read replicated. Accepted forms, per variable or per scope
(inherited):

* a ``jax.sharding.Sharding`` (e.g. ``NamedSharding(mesh, P())``);
* ``"replicated"``: replicated over the call's mesh (or the variable's own mesh);
* a ``jax.Device``, or a TF-style device string ``"/cpu:0"``, ``"/device:GPU:1"``, ``"cpu:3"``
  (a string naming only a TF job or task, ``"/job:worker"``, places nothing);
* a callable ``f(name, shape, dtype)`` returning one of the above (or None).

Inside ``jax.jit`` a read carries a sharding constraint (XLA inserts the all-gather); outside
``jit`` the value is placed once per call with ``jax.device_put`` and every read of the variable
in that call returns that same copy. Device placements need a concrete array: inside ``jit`` use a
``Sharding``.
"""

from __future__ import annotations

import re
from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec, Sharding

from scopejax._src.errors import ScopeJaxError, ScopeTypeError
from scopejax._src.placement import place

_DEVICE = re.compile(r"^/?(?:job:[^/]*/?)?(?:replica:\d+/?)?(?:task:\d+/?)?"
                     r"(?:(?:device:)?(?P<kind>[A-Za-z]+):(?P<index>\d+))?$")  # fmt: skip


class CachingDeviceError(ScopeJaxError, ValueError):
    """A ``caching_device`` that does not name a placement this process can use."""


def _device(spec: str, name: str) -> jax.Device | None:
    match = _DEVICE.match(spec.strip())
    if match is not None and match["kind"] is None:
        return None  # only a TF job/replica/task (distributed TF hosts): no device to read on
    if match is None:
        raise CachingDeviceError(
            f"Variable {name}: caching_device {spec!r} is not a device string such as '/cpu:0', "
            "'/device:GPU:1' or 'cpu:3'; pass a jax.Device or a Sharding instead."
        )
    kind, index = match["kind"].lower(), int(match["index"])
    try:
        devices = jax.devices(kind)
    except RuntimeError:
        devices = []
    if index >= len(devices):
        raise CachingDeviceError(
            f"Variable {name}: caching_device {spec!r} asks for {kind} device {index}, but this "
            f"process has {len(devices)} {kind} device(s)."
        )
    return devices[index]


def placement_of(caching_device: Any, name: str, value: Any, info: Any,
                 mesh: Mesh | None) -> Sharding | None:  # fmt: skip
    """The ``Sharding`` a ``caching_device`` means for variable ``name`` (None: leave it)."""
    target = caching_device
    if callable(target) and not isinstance(target, Sharding | jax.Device):
        target = target(name, info.shape, info.dtype)
    if target is None or target == "":
        return None
    if isinstance(target, Sharding):
        return target
    if isinstance(target, jax.Device):
        return jax.sharding.SingleDeviceSharding(target)
    if target == "replicated":
        own = getattr(getattr(value, "sharding", None), "mesh", None)
        use = mesh if mesh is not None else own
        if use is None:
            raise CachingDeviceError(
                f"Variable {name}: caching_device='replicated' needs a mesh: pass "
                "transform(fn, mesh=...), set one with jax.set_mesh, or give a Sharding."
            )
        return NamedSharding(use, PartitionSpec())
    if isinstance(target, str):
        device = _device(target, name)
        return None if device is None else jax.sharding.SingleDeviceSharding(device)
    raise ScopeTypeError(
        f"Variable {name}: caching_device must be a Sharding, a jax.Device, a device string, "
        f"'replicated' or a callable, got {type(target).__name__} {target!r}."
    )


def read_view(value: Any, name: str, info: Any, mesh: Mesh | None, traced: bool) -> Any:
    """``value`` placed for reading per ``info.caching_device``."""
    sharding = placement_of(info.caching_device, name, value, info, mesh)
    if sharding is None:
        return value
    if not traced:
        return jax.device_put(value, sharding)
    if not isinstance(sharding, NamedSharding):
        raise CachingDeviceError(
            f"Variable {name}: inside jax.jit, caching_device must be a NamedSharding (or "
            f"'replicated'); {sharding} names a single device, which jit decides."
        )
    return place(value, sharding)


__all__ = ["CachingDeviceError", "placement_of", "read_view"]
