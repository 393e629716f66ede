"""``Scope``: an immutable variable-scope value (a path plus TF's scope defaults).

This is the pure core of scoping: ``Scope.root().child("encoder").child("dense")`` builds paths
and applies TF1's inheritance rules without any context manager. The TF1-style
``variable_scope`` context manager (``scopejax._src.context``) is built on top of it.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from scopejax._src import names
from scopejax._src.errors import ReuseError, ScopeTypeError


class _AutoReuse:
    """The type of :data:`AUTO_REUSE`: create a variable if it does not exist, else return it."""

    _instance: _AutoReuse | None = None

    def __new__(cls) -> _AutoReuse:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AUTO_REUSE"

    def __reduce__(self) -> str:
        return "AUTO_REUSE"

    def __bool__(self) -> bool:  # TF's AUTO_REUSE is truthy; `child or parent` relies on it.
        return True


AUTO_REUSE: Final = _AutoReuse()
"""Reuse mode: get the variable if it exists, create it otherwise. TF1: ``tf.AUTO_REUSE``."""

ReuseMode = bool | _AutoReuse
_FLOAT32 = np.dtype("float32")


def check_reuse(reuse: Any) -> bool | _AutoReuse | None:
    """Validates a ``reuse`` argument like TF (by identity) and turns ``False`` into ``None``.

    TF1 never lets a scope switch reuse *off* for its children: ``reuse=False`` means "inherit".
    """
    if reuse is False or reuse is None:
        return None
    if reuse is True or reuse is AUTO_REUSE:
        return reuse
    raise ReuseError(
        "The reuse parameter must be True or False or None. "
        f"Got {reuse!r} of type {type(reuse).__name__}; use True, None (inherit) or "
        "scopejax.AUTO_REUSE."
    )


@dataclasses.dataclass(frozen=True)
class _ComposedGetter:
    """A getter wrapping the inherited one: ``inner`` runs first, its getter calls ``outer``."""

    inner: Callable[..., Any]
    outer: Callable[..., Any]

    def __call__(self, getter: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.inner(functools.partial(self.outer, getter), *args, **kwargs)


def compose_getters(inner: Any, outer: Any) -> Any:
    """TF's ``_maybe_wrap_custom_getter``: the new (inner) getter wraps the inherited one."""
    if inner is None:
        return outer
    if outer is None:
        return inner
    return _ComposedGetter(inner, outer)


def _key(x: Any) -> Any:
    """A hashable, comparable stand-in: the value itself if hashable, else its identity."""
    try:
        hash(x)
    except TypeError:
        return ("<unhashable>", id(x))
    if isinstance(x, np.ndarray | np.generic) or hasattr(x, "__jax_array__"):
        return ("<array>", id(x))
    return x


# Set by the TF1-style context layer while a transformed function runs, so that
# ``scope.reuse_variables()`` can reach the implicit frame. The pure core never sets it.
REUSE_VARIABLES_LISTENER: contextvars.ContextVar[Callable[[Scope], Scope] | None] = (
    contextvars.ContextVar("scopejax_reuse_variables_listener", default=None)
)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Scope:
    """An immutable variable scope: a path plus the defaults TF1 attaches to a ``VariableScope``.

    ``Scope`` values are hashable and compare by value. ``child`` applies TF1's inheritance rules
    (everything but ``constraint`` is inherited; reuse is ``child_reuse or parent_reuse``) and
    returns a new value.

    >>> root = Scope.root()
    >>> enc = root.child("encoder").child("dense", reuse=AUTO_REUSE)
    >>> enc.name, enc.reuse
    ('encoder/dense', AUTO_REUSE)
    >>> enc == Scope.root().child("encoder").child("dense", reuse=AUTO_REUSE)
    True

    TF1 equivalent: ``tf.compat.v1.VariableScope``.
    """

    name: str = ""
    reuse: ReuseMode = False
    initializer: Any = None
    regularizer: Any = None
    caching_device: Any = None
    partitioner: Any = None
    custom_getter: Any = None
    dtype: np.dtype = _FLOAT32
    use_resource: bool | None = None
    constraint: Any = None
    # Identity of one opening of a scope, so that reuse_variables() on a captured scope persists
    # (TF rule 5) without making Scope mutable. Not part of the value.
    _token: object = dataclasses.field(default_factory=object, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ScopeTypeError(f"Scope name must be a string, got {type(self.name).__name__}.")
        if not (self.reuse is True or self.reuse is False or self.reuse is AUTO_REUSE):
            check_reuse(self.reuse)  # raises for invalid values
            object.__setattr__(self, "reuse", False)
        object.__setattr__(self, "dtype", _as_dtype(self.dtype, f"scope '{self.name}'"))

    @classmethod
    def root(cls, **defaults: Any) -> Scope:
        """The root scope (name ``""``, reuse False, dtype float32), with optional defaults."""
        return cls(**defaults)

    # -- value semantics -------------------------------------------------------------------------
    def _fields(self) -> tuple[Any, ...]:
        return (
            self.name, self.reuse, _key(self.initializer), _key(self.regularizer),
            _key(self.caching_device), _key(self.partitioner), _key(self.custom_getter),
            self.dtype, self.use_resource, _key(self.constraint),
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scope):
            return NotImplemented
        return self is other or self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        extras = [
            f"{f}={getattr(self, f)!r}"
            for f in ("initializer", "regularizer", "caching_device", "partitioner",
                      "custom_getter", "use_resource", "constraint")
            if getattr(self, f) is not None
        ]  # fmt: skip
        if self.dtype != np.float32:
            extras.append(f"dtype={self.dtype.name}")
        return f"Scope({self.name!r}, reuse={self.reuse!r}{''.join(', ' + e for e in extras)})"

    # -- TF1 path algebra ------------------------------------------------------------------------
    def child(
        self,
        name: str,
        *,
        reuse: Any = None,
        initializer: Any = None,
        regularizer: Any = None,
        caching_device: Any = None,
        partitioner: Any = None,
        custom_getter: Any = None,
        dtype: Any = None,
        use_resource: bool | None = None,
        constraint: Any = None,
    ) -> Scope:
        """The sub-scope ``name`` with TF1's inheritance (``variable_scope(name)`` inside self).

        ``reuse`` is ``reuse or self.reuse`` (``False`` means inherit); every other default is
        inherited unless given, except ``constraint``, which is never inherited. A given
        ``custom_getter`` wraps the inherited one (the new one runs first).
        """
        names.check_scope_name(name, self.name)
        return self._child(
            name, reuse=reuse, initializer=initializer, regularizer=regularizer,
            caching_device=caching_device, partitioner=partitioner, custom_getter=custom_getter,
            dtype=dtype, use_resource=use_resource, constraint=constraint,
        )  # fmt: skip

    def _child(self, name: str, *, reuse: Any, custom_getter: Any, constraint: Any,
               **overrides: Any) -> Scope:  # fmt: skip
        """``child`` without name validation (the TF1-style layer validates name scopes itself)."""
        reuse = check_reuse(reuse)
        return self._derive(
            name=names.join(self.name, name),
            reuse=reuse if reuse else self.reuse,
            custom_getter=custom_getter, constraint=constraint, **overrides,
        )  # fmt: skip

    def _plain_child(self, name: str, reuse: ReuseMode | None) -> Scope:
        """``_child(name, reuse=reuse)`` with every other argument None; ``reuse`` is checked."""
        fields = dict(self.__dict__)
        fields["name"] = names.join(self.name, name)
        if reuse:
            fields["reuse"] = reuse
        fields["constraint"] = None  # never inherited
        fields["_token"] = object()
        new = object.__new__(Scope)
        object.__setattr__(new, "__dict__", fields)
        return new

    def reenter(
        self,
        *,
        reuse: Any = None,
        initializer: Any = None,
        regularizer: Any = None,
        caching_device: Any = None,
        partitioner: Any = None,
        custom_getter: Any = None,
        dtype: Any = None,
        use_resource: bool | None = None,
        constraint: Any = None,
    ) -> Scope:
        """A copy of this scope as TF1 makes it when a captured scope object is re-entered.

        The copy keeps this scope's own reuse (it does *not* inherit the enclosing scope's):
        ``self.reuse if not reuse else reuse``; other arguments override, ``custom_getter`` wraps,
        and ``constraint`` comes only from this call.
        """
        reuse = check_reuse(reuse)
        return self._derive(
            name=self.name,
            reuse=reuse if reuse else self.reuse,
            initializer=initializer, regularizer=regularizer, caching_device=caching_device,
            partitioner=partitioner, custom_getter=custom_getter, dtype=dtype,
            use_resource=use_resource, constraint=constraint,
        )  # fmt: skip

    def _derive(self, *, name: str, reuse: ReuseMode, custom_getter: Any, constraint: Any,
                **overrides: Any) -> Scope:  # fmt: skip
        # Built without __init__: every field is already valid (this runs per scope opening).
        new = object.__new__(Scope)
        fields = {
            "name": name,
            "reuse": reuse,
            "initializer": self.initializer,
            "regularizer": self.regularizer,
            "caching_device": self.caching_device,
            "partitioner": self.partitioner,
            "custom_getter": compose_getters(custom_getter, self.custom_getter),
            "dtype": self.dtype,
            "use_resource": self.use_resource,
            "constraint": constraint,
            "_token": object(),
        }
        for key, value in overrides.items():
            if value is not None:
                fields[key] = _as_dtype(value, f"scope '{name}'") if key == "dtype" else value
        object.__setattr__(new, "__dict__", fields)  # one store instead of one per field
        return new

    def reuse_variables(self) -> Scope:
        """Makes this scope reuse variables (TF1: ``scope.reuse_variables()``).

        Inside a transformed function this switches the *active* scope (if it is this one) to
        reuse for the rest of its block, and makes later re-entries of this captured scope
        object reuse, exactly like TF1's in-place mutation. It also returns the reusing scope,
        which is all it does in pure code.
        """
        listener = REUSE_VARIABLES_LISTENER.get()
        reusing = dataclasses.replace(self, reuse=True)
        object.__setattr__(reusing, "_token", self._token)
        return listener(reusing) if listener is not None else reusing


def _as_dtype(dtype: Any, where: str) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise ScopeTypeError(
            f"Invalid dtype {dtype!r} for {where}: {e}. Pass a numpy/jax dtype such as "
            "jnp.float32 or 'float16'."
        ) from None
