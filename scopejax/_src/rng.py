"""``next_rng_key``: fresh PRNG keys inside a transformed function (dropout, noise).

Each key is a function of the call's base key, the current variable scope and how many keys
that scope has drawn so far in the call: adding a dropout layer in one scope does not change the
keys another scope draws, just as adding a variable does not change other variables' values.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from scopejax._src import context, names
from scopejax._src.errors import NoRngError
from scopejax._src.runs import CallState


def next_rng_key() -> Any:
    """A fresh PRNG key, derived from the key given to ``init`` / ``apply(..., rng=key)``.

    Deterministic: the same base key, scope and position give the same key (under ``jax.jit``
    too). Inside ``scopejax.scan`` / ``scopejax.vmap`` every step / example gets its own keys;
    inside a plain ``jax.lax.scan`` body (traced once) every step would see the same key.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def noisy(x):
    ...     with scopejax.variable_scope("noise"):
    ...         return x + jax.random.normal(scopejax.next_rng_key(), x.shape)
    >>> model = scopejax.transform(noisy)
    >>> params = model.init(jax.random.key(0), jnp.zeros(2))
    >>> a = model.apply(params, jnp.zeros(2), rng=jax.random.key(1))
    >>> b = model.apply(params, jnp.zeros(2), rng=jax.random.key(1))
    >>> bool((a == b).all())
    True

    Raises:
      NoRngError: the call got no key (``apply`` without ``rng=``, or ``init(None, ...)``).

    TF1 equivalent: the op-level seeds behind ``tf.nn.dropout`` / ``tf.random.*``.
    """
    frame = context.current_frame("next_rng_key")
    run = frame.run
    scope_name = frame.scope.name
    if run.rng_base is None:
        where = f"scope '{scope_name}'" if scope_name else "the root scope"
        raise NoRngError(
            f"The model asked for a random key (scopejax.next_rng_key() in {where}) but this "
            "call got none. Pass one: model.apply(params, ..., rng=jax.random.key(0)) (or a key "
            "instead of None as init's first argument)."
        )
    return draw(run, scope_name)


def draw(run: CallState, scope_name: str) -> Any:
    """The next key of ``scope_name`` in ``run``, or None when the call has no key."""
    if run.rng_base is None:
        return None
    i = run.rng_counts.get(scope_name, 0)
    run.rng_counts[scope_name] = i + 1
    # '#' never appears in a variable name, so these keys never coincide with a variable's key.
    name = f"{scope_name}#rng{i}"
    layers = run.layer_stack
    if layers is not None:
        first, all_layers, step = layers
        if scope_name == first or scope_name.startswith(first + "/"):
            # Inside scan_layers' body, traced once as layer 0: draw layer `step`'s key, the one
            # the Python loop over layers would draw.
            rest = name[len(first):]
            table = np.array([names.name_hash(layer + rest) for layer in all_layers], np.uint32)
            return names.key_from_hash(run.rng_base, jnp.asarray(table)[step])
    return names.variable_key(run.rng_base, name)


__all__ = ["next_rng_key"]
