"""Static, per-variable metadata carried in a ParamStore's treedef."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from scopejax._src.errors import ScopeTypeError, StoreStructureError

GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"


@dataclasses.dataclass(frozen=True, slots=True)
class VarInfo:
    """What a ParamStore knows about one variable besides its value.

    Attributes:
      shape: the logical shape of the variable, as created.
      dtype: the dtype the variable was created with (canonical JAX dtype, a ``numpy.dtype``).
      trainable: whether the variable is trained (TF's ``v.trainable``); a trainable variable is
        also in the TRAINABLE_VARIABLES collection.
      collections: every collection key the variable belongs to, in TF's order
        (``("variables", "trainable_variables")`` by default).
      partition: room for partition information (set by partitioners; ``None`` otherwise).
      physical_shape: the shape of the stored array when it differs from ``shape``: a
        partitioned variable padded so that its shard count divides it evenly (``None``
        otherwise). ``store[name]`` and the model see ``shape``.
      stacked: ``n > 0`` for a variable of ``scopejax.scan_layers``: the values of ``n`` layers
        stacked on axis 0 (``shape[0] == n``), named with ``*`` for the layer index
        (``layer_*/dense/kernel``); :meth:`ParamStore.unstack_layers` gives the per-layer names.
      regularizer: the ``array -> loss`` function the variable was created with, or ``None``.
      constraint: the ``array -> array`` projection applied by
        :meth:`ParamStore.apply_constraints`, or ``None``.
      caching_device: where the model reads the variable (see ``caching.py``), or ``None``.

    ``regularizer``, ``constraint`` and ``caching_device`` are functions or placements, so they
    take no part in equality or hashing: two stores that differ only in them have the same tree
    structure (a model that builds a fresh ``lambda`` on every call does not make ``jax.jit``
    retrace).

    >>> import jax, scopejax
    >>> def f():
    ...     scopejax.get_variable("step", [], "int32", trainable=False)
    >>> info = scopejax.transform(f).init(jax.random.key(0)).info("step")
    >>> info.shape, info.dtype.name, info.trainable, info.collections
    ((), 'int32', False, ('variables',))

    TF1 equivalent: the Python-side attributes of a ``tf.Variable``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    trainable: bool = True
    collections: tuple[str, ...] = (GLOBAL_VARIABLES, TRAINABLE_VARIABLES)
    partition: Any = None
    physical_shape: tuple[int, ...] | None = None
    stacked: int = 0
    regularizer: Any = dataclasses.field(default=None, compare=False, repr=False)
    constraint: Any = dataclasses.field(default=None, compare=False, repr=False)
    caching_device: Any = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _dims(self.shape, "shape"))
        try:
            object.__setattr__(self, "dtype", np.dtype(self.dtype))
        except TypeError as e:
            raise ScopeTypeError(f"VarInfo: invalid dtype {self.dtype!r} ({e}).") from None
        if isinstance(self.collections, str) or not all(
                isinstance(k, str) for k in self.collections):  # fmt: skip
            raise ScopeTypeError(
                f"VarInfo: collections must be a sequence of str keys, got {self.collections!r}."
            )
        object.__setattr__(self, "collections", tuple(self.collections))
        if self.physical_shape is not None:
            object.__setattr__(self, "physical_shape",
                               _dims(self.physical_shape, "physical_shape"))  # fmt: skip
        if self.stacked and (self.stacked < 0 or not self.shape or self.shape[0] != self.stacked):
            raise StoreStructureError(
                f"VarInfo: stacked={self.stacked} needs shape[0] == {self.stacked} (one slice per "
                f"layer), got shape {self.shape}."
            )
        for role in ("regularizer", "constraint"):
            fn = getattr(self, role)
            if fn is not None and not callable(fn):
                raise ScopeTypeError(f"VarInfo: {role} must be callable or None, got {fn!r}.")

    @property
    def stored_shape(self) -> tuple[int, ...]:
        """The shape of the array in the store: ``physical_shape`` if set, else ``shape``."""
        return self.shape if self.physical_shape is None else self.physical_shape


def _dims(shape: Any, what: str) -> tuple[int, ...]:
    if isinstance(shape, str) or not hasattr(shape, "__iter__"):
        raise ScopeTypeError(f"VarInfo: {what} must be a sequence of ints, got {shape!r}.")
    dims = tuple(shape)
    if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 0
               for d in dims):  # fmt: skip
        raise ScopeTypeError(f"VarInfo: {what} must hold non-negative ints, got {dims!r}.")
    return tuple(int(d) for d in dims)
