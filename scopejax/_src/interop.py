"""Conversions between a ``ParamStore`` and Flax ``variables`` / Haiku ``params`` dicts, and an
optax mask.

Both libraries' trees are plain nested dicts of arrays, so nothing here imports flax or haiku.

* **Flax** ``variables``: ``{collection: {"scope": {"sub": {"leaf": array}}}}``. A store's name
  ``"a/b/kernel"`` is the path ``a -> b -> kernel`` inside one collection, chosen by
  :func:`flax_collection` (or your own rule): trainable variables go to ``"params"``, moving
  averages to ``"batch_stats"`` (Flax's ``BatchNorm`` convention), local variables to
  ``"local_variables"``, a non-trainable variable in one custom TF collection to that collection,
  any other non-trainable to ``"state"``. The inverse (:func:`tf_collections`) gives back
  ``trainable`` and the collections for exactly these cases.
* **Haiku** ``params`` / ``state``: ``{"module/path": {"leaf": array}}``: the module name is the
  variable name up to its last ``/`` (``"~"`` for root variables, as Haiku names parameters created
  outside any module), the leaf is the last component. Trainable variables are ``params``,
  non-trainable ones ``state`` (``hk.transform_with_state``).

What a conversion cannot carry: partition layout and padding (values are exported with their
logical shape), ``stacked`` layer counts (names keep their ``*``; call ``store.unstack_layers()``
first for per-layer names), regularizers, constraints, caching devices, and collections beyond
the rules above. Pass ``like=store`` when converting back to restore all of it exactly: the
result is ``like.replace(values)``, same metadata, padding and tree structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src.errors import ScopeJaxError
from scopejax._src.store import ParamStore, ensure_store
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

MOVING_AVERAGE_VARIABLES = "moving_average_variables"
LOCAL_VARIABLES = "local_variables"
_DEFAULT = (GLOBAL_VARIABLES, TRAINABLE_VARIABLES)
HAIKU_ROOT = "~"
_RESERVED = ("params", "batch_stats", "state")  # Flax collections with a fixed meaning here

CollectionRule = Callable[[str, VarInfo], str]


class InteropTypeError(ScopeJaxError, TypeError):
    """A Flax/Haiku tree (or a leaf in it) is not what the conversion expects."""


class InteropStructureError(ScopeJaxError, ValueError):
    """A tree whose names cannot map one-to-one onto store names (or onto ``like=``'s)."""


# ---------------------------------------------------------------------------------- mapping


def flax_collection(name: str, info: VarInfo) -> str:
    """The Flax collection a variable goes to (the default rule of :func:`to_flax_variables`).

    >>> import jax.numpy as jnp
    >>> stats = VarInfo((3,), jnp.float32, False, ("variables", "moving_average_variables"))
    >>> flax_collection("bn/kernel", VarInfo((3,), jnp.float32)), flax_collection("bn/mean", stats)
    ('params', 'batch_stats')
    """
    if info.trainable:
        return "params"
    if MOVING_AVERAGE_VARIABLES in info.collections:
        return "batch_stats"
    extra = [c for c in info.collections if c not in _DEFAULT]
    return extra[0] if len(extra) == 1 and extra[0] not in _RESERVED else "state"


def tf_collections(collection: str) -> tuple[bool, tuple[str, ...]]:
    """``(trainable, TF collections)`` of a variable found in Flax collection ``collection``:
    the inverse of :func:`flax_collection` where it is one.

    >>> tf_collections("params"), tf_collections("batch_stats"), tf_collections("cache")
    ((True, ('variables', 'trainable_variables')),
     (False, ('variables', 'moving_average_variables')),
     (False, ('variables', 'cache')))
    """
    if collection == "params":
        return True, _DEFAULT
    if collection == "batch_stats":
        return False, (GLOBAL_VARIABLES, MOVING_AVERAGE_VARIABLES)
    if collection == "state":
        return False, (GLOBAL_VARIABLES,)
    if collection == LOCAL_VARIABLES:
        return False, (LOCAL_VARIABLES,)
    return False, (GLOBAL_VARIABLES, collection)


# -------------------------------------------------------------------------------------- flax


def to_flax_variables(
    store: ParamStore, *, collection: CollectionRule | None = None
) -> dict[str, dict[str, Any]]:
    """A Flax ``variables`` dict: ``{"params": nested, "batch_stats": nested, ...}``.

    Args:
      store: the variables (exported with their logical shapes).
      collection: ``(name, info) -> Flax collection``; default :func:`flax_collection`.

    Raises:
      StoreStructureError: a variable is also the scope of another one in the same collection
        (``a`` and ``a/b``), which a nested dict cannot hold.

    >>> import jax.numpy as jnp
    >>> store = ParamStore.from_flat_dict({"Dense_0/kernel": jnp.ones((2, 3)),
    ...                                    "Dense_0/bias": jnp.zeros(3)})
    >>> jax.tree.map(jnp.shape, to_flax_variables(store))
    {'params': {'Dense_0': {'bias': (3,), 'kernel': (2, 3)}}}

    Flax equivalent: what ``module.init(rng, x)`` returns.
    """
    store = ensure_store(store, "to_flax_variables")
    rule = flax_collection if collection is None else collection
    if not callable(rule):
        raise InteropTypeError(
            f"to_flax_variables: collection must be a function (name, VarInfo) -> str such as "
            f"scopejax.interop.flax_collection, got {rule!r}."
        )
    chosen: dict[str, list[str]] = {}
    for name, info in store.infos().items():
        key = rule(name, info)
        if not isinstance(key, str) or not key:
            raise InteropTypeError(
                f"to_flax_variables: the collection rule returned {key!r} for variable {name!r}; "
                "it must return a non-empty collection name (str) such as 'params'."
            )
        chosen.setdefault(key, []).append(name)
    return {key: store.filter(predicate=lambda n, _, names=frozenset(names): n in names)
            .to_nested_dict() for key, names in chosen.items()}  # fmt: skip


def from_flax_variables(
    variables: Mapping[str, Mapping[str, Any]], *, like: ParamStore | None = None
) -> ParamStore:
    """A store from a Flax ``variables`` dict (plain dicts or ``FrozenDict``s).

    Names join the path inside a collection with ``/``; ``trainable`` and the TF collections come
    from the collection (:func:`tf_collections`). With ``like=``, the store is
    ``like.replace(values)``: its metadata, padding and tree structure, these values.
    ``ShapeDtypeStruct`` leaves (``jax.eval_shape(module.init, ...)``) make an abstract store.

    Raises:
      InteropTypeError: ``variables`` is not a mapping of mappings, or a leaf is not an array
        (e.g. a ``flax.linen.Partitioned`` box: unbox first).
      InteropStructureError: a name is in two collections, or the names differ from ``like``'s.

    >>> import jax.numpy as jnp
    >>> store = from_flax_variables({"params": {"Dense_0": {"kernel": jnp.ones((2, 3))}},
    ...                              "batch_stats": {"bn": {"mean": jnp.zeros(3)}}})
    >>> store.names(), store.info("bn/mean").trainable, store.info("bn/mean").collections
    (('Dense_0/kernel', 'bn/mean'), False, ('variables', 'moving_average_variables'))
    """
    where = "from_flax_variables"
    if not isinstance(variables, Mapping):
        raise InteropTypeError(
            f"{where}: expected Flax variables, a mapping from collection names ('params', "
            f"'batch_stats', ...) to nested dicts, got {type(variables).__name__}."
        )
    values: dict[str, Any] = {}
    infos: dict[str, VarInfo] = {}
    found_in: dict[str, str] = {}
    for key, tree in variables.items():
        if not isinstance(tree, Mapping):
            raise InteropTypeError(
                f"{where}: collection {key!r} must map to a nested dict of arrays, got "
                f"{type(tree).__name__}. Pass the whole variables dict, e.g. "
                "{'params': params}, not the params alone."
            )
        trainable, collections = tf_collections(key)
        for name, value in _flatten(tree, f"{where}: collection {key!r}"):
            if name in found_in:
                raise InteropStructureError(
                    f"{where}: variable {name!r} is in both collections {found_in[name]!r} and "
                    f"{key!r}; a ParamStore holds one value per name. Rename one, or convert "
                    "the collections separately."
                )
            found_in[name] = key
            values[name] = value
            infos[name] = VarInfo(value.shape, value.dtype, trainable, collections)
    return _build(values, infos, like, where)


# ------------------------------------------------------------------------------------- haiku


def to_haiku_params(store: ParamStore) -> dict[str, dict[str, Any]]:
    """The trainable variables as Haiku ``params``: ``{"module/path": {"leaf": array}}``.

    >>> import jax.numpy as jnp
    >>> store = ParamStore.from_flat_dict({"mlp/linear/w": jnp.ones((2, 3)), "b": jnp.zeros(3)})
    >>> jax.tree.map(jnp.shape, to_haiku_params(store))
    {'mlp/linear': {'w': (2, 3)}, '~': {'b': (3,)}}

    Haiku equivalent: ``hk.transform(f).init(rng, x)``.
    """
    return _to_haiku(ensure_store(store, "to_haiku_params").filter(trainable=True))


def to_haiku_state(store: ParamStore) -> dict[str, dict[str, Any]]:
    """The non-trainable variables as Haiku ``state`` (same layout as :func:`to_haiku_params`).

    Haiku equivalent: the state from ``hk.transform_with_state(f).init(rng, x)``.

    >>> import jax.numpy as jnp
    >>> from scopejax import ParamStore, VarInfo
    >>> store = ParamStore.from_flat_dict(
    ...     {"bn/moving_mean": jnp.zeros(2), "bn/gamma": jnp.ones(2)},
    ...     {"bn/moving_mean": VarInfo((2,), jnp.float32, trainable=False,
    ...                                collections=("variables",))})
    >>> to_haiku_state(store)
    {'bn': {'moving_mean': Array([0., 0.], dtype=float32)}}
    """
    return _to_haiku(ensure_store(store, "to_haiku_state").filter(trainable=False))


def _to_haiku(store: ParamStore) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, value in store.items():
        module, _, leaf = name.rpartition("/")
        if module == HAIKU_ROOT:
            raise InteropStructureError(
                f"to_haiku_params: variable {name!r} would be in Haiku module '~', which is "
                f"where root variables ({leaf!r}) go, so it would not convert back. Rename its "
                "scope."
            )
        out.setdefault(module or HAIKU_ROOT, {})[leaf] = value
    return out


def from_haiku_params(
    params: Mapping[str, Mapping[str, Any]],
    state: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    like: ParamStore | None = None,
) -> ParamStore:
    """A store from Haiku ``params`` (trainable) and optional ``state`` (non-trainable).

    ``"module/path"`` and leaf ``"w"`` make ``"module/path/w"``; module ``"~"`` is the root scope.
    State variables get ``collections=("variables",)``. With ``like=``, the store is
    ``like.replace(values)`` (see :func:`from_flax_variables`).

    Raises:
      InteropTypeError: not a two-level mapping of arrays.
      InteropStructureError: a leaf name contains ``/``, a name is in both ``params`` and
        ``state``, or the names differ from ``like``'s.

    >>> import jax.numpy as jnp
    >>> store = from_haiku_params({"linear": {"w": jnp.ones((2, 3))}},
    ...                           {"~": {"step": jnp.zeros((), jnp.int32)}})
    >>> store.names(), store.info("step").trainable
    (('linear/w', 'step'), False)
    """
    where = "from_haiku_params"
    values: dict[str, Any] = {}
    infos: dict[str, VarInfo] = {}
    parts = [("params", params, True, _DEFAULT), ("state", state, False, (GLOBAL_VARIABLES,))]
    for what, tree, trainable, collections in parts:
        if tree is None and what == "state":
            continue
        for name, value in _haiku_items(tree, f"{where}: {what}"):
            if name in values:
                raise InteropStructureError(
                    f"{where}: variable {name!r} is in both params and state; a ParamStore holds "
                    "one value per name. Drop it from one of them."
                )
            values[name] = value
            infos[name] = VarInfo(value.shape, value.dtype, trainable, collections)
    return _build(values, infos, like, where)


def _haiku_items(tree: Any, where: str) -> list[tuple[str, Any]]:
    if not isinstance(tree, Mapping):
        raise InteropTypeError(
            f"{where}: expected Haiku's two-level dict {{'module/path': {{'w': array}}}}, got "
            f"{type(tree).__name__}."
        )
    items = []
    for module, leaves in tree.items():
        if not isinstance(module, str) or not module or not isinstance(leaves, Mapping):
            raise InteropTypeError(
                f"{where}: expected Haiku's two-level dict {{'module/path': {{'w': array}}}}; "
                f"entry {module!r} maps to {type(leaves).__name__}, not a dict of arrays."
            )
        for leaf, value in leaves.items():
            if not isinstance(leaf, str) or not leaf or "/" in leaf:
                raise InteropStructureError(
                    f"{where}: parameter name {leaf!r} of module {module!r} is not a single "
                    "name component (Haiku leaf names contain no '/'); move the prefix into the "
                    "module name."
                )
            name = leaf if module == HAIKU_ROOT else f"{module}/{leaf}"
            items.append((name, _leaf(value, f"{where}: {module!r}/{leaf!r}")))
    return items


# ------------------------------------------------------------------------------------- optax


def trainable_mask(
    store: ParamStore, predicate: Callable[[str, VarInfo], bool] | None = None
) -> ParamStore:
    """A store of Python bools with ``store``'s tree structure: ``True`` for trainable variables
    (or where ``predicate(name, info)`` holds). A mask for ``optax.masked`` and, mapped to labels,
    for ``optax.multi_transform``.

    >>> import jax.numpy as jnp
    >>> store = ParamStore.from_flat_dict({"w": jnp.ones(2), "n": jnp.zeros(())},
    ...                                   {"n": VarInfo((), jnp.float32, trainable=False)})
    >>> jax.tree.leaves(trainable_mask(store)), jax.tree.structure(store) == jax.tree.structure(
    ...     trainable_mask(store))
    ([False, True], True)

    TF1 equivalent: ``var_list=tf.trainable_variables()`` in ``optimizer.minimize``.
    """
    store = ensure_store(store, "trainable_mask")
    if predicate is not None and not callable(predicate):
        raise InteropTypeError(
            f"trainable_mask: predicate must be a function (name, VarInfo) -> bool, got "
            f"{predicate!r}."
        )
    chosen = [info.trainable if predicate is None else bool(predicate(name, info))
              for name, info in store.infos().items()]  # fmt: skip
    return jax.tree.unflatten(jax.tree.structure(store), chosen)


# ----------------------------------------------------------------------------------- helpers


def _leaf(value: Any, where: str) -> Any:
    """A jax array or ShapeDtypeStruct (NumPy values and Python numbers go through
    ``jnp.asarray``, as in ``ParamStore.from_flat_dict``)."""
    if isinstance(value, jax.Array | jax.ShapeDtypeStruct):
        return value
    if isinstance(value, np.ndarray | np.generic | int | float | complex | bool):
        return jnp.asarray(value)
    hint = ""
    if hasattr(value, "unbox"):
        hint = (" It looks like a Flax metadata box (nn.Partitioned / LogicallyPartitioned): "
                "unbox first with flax.linen.meta.unbox(variables).")
    raise InteropTypeError(f"{where}: expected an array, got {type(value).__name__}.{hint}")


def _flatten(tree: Mapping[str, Any], where: str, prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in tree.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise InteropStructureError(
                f"{where}: key {key!r}{f' under {prefix[:-1]!r}' if prefix else ''} is not a "
                "single name component (keys are str without '/': the store joins them with '/')."
            )
        if isinstance(value, Mapping):
            items += _flatten(value, where, f"{prefix}{key}/")
        else:
            items.append((prefix + key, _leaf(value, f"{where}, {prefix}{key!r}")))
    return items


def _build(values: dict[str, Any], infos: dict[str, VarInfo], like: ParamStore | None,
           where: str) -> ParamStore:  # fmt: skip
    if like is None:
        return ParamStore.from_flat_dict(values, infos)
    like = ensure_store(like, f"{where}(like=...)")
    missing = sorted(set(like.names()) - set(values))
    extra = sorted(set(values) - set(like.names()))
    if missing or extra:
        raise InteropStructureError(
            f"{where}: the converted names do not match like=: missing {missing[:5]!r}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected {extra[:5]!r}"
            f"{' ...' if len(extra) > 5 else ''} ({len(missing)} missing, {len(extra)} "
            "unexpected). Pass the store these variables were exported from, or drop like=."
        )
    return like.replace(values)


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
