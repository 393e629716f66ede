"""Interop with Flax and Haiku parameter trees, and an optax mask of the trainable variables.

No flax, haiku or optax import is needed: the trees are plain nested dicts. See
``scopejax/_src/interop.py`` for the mapping rules and what a conversion cannot carry.

>>> import jax, jax.numpy as jnp, scopejax
>>> store = scopejax.ParamStore.from_flat_dict({"Dense_0/kernel": jnp.ones((2, 3))})
>>> from_flax_variables(to_flax_variables(store)).names()
('Dense_0/kernel',)
"""

from scopejax._src.interop import (
    InteropStructureError,
    InteropTypeError,
    flax_collection,
    from_flax_variables,
    from_haiku_params,
    tf_collections,
    to_flax_variables,
    to_haiku_params,
    to_haiku_state,
    trainable_mask,
)

__all__ = [
    "InteropStructureError",
    "InteropTypeError",
    "flax_collection",
    "from_flax_variables",
    "from_haiku_params",
    "tf_collections",
    "to_flax_variables",
    "to_haiku_params",
    "to_haiku_state",
    "trainable_mask",
]

# The error classes report this namespace as their module so tracebacks read well. (Functions
# keep theirs: pytest would otherwise collect their doctests here, without their globals.)
InteropStructureError.__module__ = InteropTypeError.__module__ = __name__
