"""The pure, context-free ``get_variable``: (store, scope, name, ..., key) -> (value, new store)."""

from __future__ import annotations

from typing import Any

from scopejax._src.getter import scope_get_variable
from scopejax._src.runs import StoreSource, check_rng
from scopejax._src.scope import Scope
from scopejax._src.store import ParamStore, ensure_store


def get_variable(
    store: ParamStore,
    scope: Scope,
    name: str,
    shape: Any = None,
    dtype: Any = None,
    initializer: Any = None,
    *,
    key: Any = None,
    **kwargs: Any,
) -> tuple[Any, ParamStore]:
    """Gets ``scope.name/name`` from ``store`` or creates it, under TF1's reuse rules.

    The pure form of :func:`scopejax.get_variable`, on which the TF1-style API is built: no
    context manager, no hidden state. A variable already in ``store`` "exists"; a new one is
    initialised from ``key`` (the *root* key: the variable's own key is derived from it and the
    full name, so values match those of ``transform(...).init`` with the same key).

    Args:
      store: the variables so far (``ParamStore()`` to start).
      scope: a :class:`scopejax.Scope`; its reuse mode and defaults apply.
      name, shape, dtype, initializer: as for ``get_variable``.
      key: root PRNG key for initialisation (None if every initializer is deterministic).
      **kwargs: the other ``get_variable`` arguments (``trainable``, ``collections``, ...).

    Returns:
      ``(value, new_store)``; ``new_store`` is ``store`` itself when the variable existed.

    >>> import jax, scopejax
    >>> from scopejax import pure
    >>> scope = scopejax.Scope.root().child("foo", reuse=scopejax.AUTO_REUSE)
    >>> v, store = pure.get_variable(scopejax.ParamStore(), scope, "v", [2], key=jax.random.key(0))
    >>> v2, store2 = pure.get_variable(store, scope, "v", [2])
    >>> store2 is store, store.names()
    (True, ('foo/v',))
    """
    if not isinstance(scope, Scope):
        raise TypeError(f"scope must be a scopejax.Scope, got {type(scope).__name__} {scope!r}.")
    source = StoreSource(ensure_store(store, "pure.get_variable's store"), check_rng(key))
    value = scope_get_variable(source, scope, name, shape, dtype, initializer, **kwargs)
    return value, source.store
