"""The implicit TF1-style API: ``variable_scope``, ``get_variable``, ``get_variable_scope``.

The current frame (active ``Scope`` + the run of the enclosing ``transform`` call) lives in one
``contextvars.ContextVar`` holding an immutable value; every context manager restores it through
its token, even when the body raises. Threads and asyncio tasks therefore never see each other's
scopes. This layer sits on top of the pure core and could be removed without touching it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from scopejax._src import getter, names
from scopejax._src.errors import (
    NoTransformError,
    ReuseError,
    ScopeNestingError,
    ScopeTypeError,
)
from scopejax._src.runs import ApplyRun, InitRun
from scopejax._src.scope import REUSE_VARIABLES_LISTENER, Scope, check_reuse

Run = InitRun | ApplyRun


class Frame(NamedTuple):
    scope: Scope
    run: Run
    # Whether TF's *name scope* would be non-empty here. Variable names never depend on it, but
    # TF validates a scope name against the root pattern only while the name scope is the root.
    in_name_scope: bool = False


_FRAME: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "scopejax_frame", default=None
)


def current_frame(what: str) -> Frame:
    frame = _FRAME.get()
    if frame is None:
        raise NoTransformError(
            f"scopejax.{what} was called outside a function run by scopejax.transform(...).init "
            "or .apply. Wrap the model function: `model = scopejax.transform(fn)`, then call "
            "`model.init(key, ...)` / `model.apply(params, ...)`; or use the pure API "
            "`scopejax.pure.get_variable(store, scope, name, ...)`."
        )
    return frame


def _on_reuse_variables(reusing: Scope) -> Scope:
    """``scope.reuse_variables()`` inside a run: TF1 mutates the scope object in place.

    scopejax records the scope's token for the rest of the call instead; every frame whose scope
    carries that token then reads as reusing (see :func:`active_scope`).
    """
    frame = _FRAME.get()
    if frame is not None:
        frame.run.reused_tokens.add(reusing._token)
    return reusing


def _with_recorded_reuse(scope: Scope, run: Run) -> Scope:
    """``scope`` as TF1's mutable object would now be: reusing if reuse_variables() was called."""
    if run.reused_tokens and scope.reuse is not True and scope._token in run.reused_tokens:
        return dataclasses.replace(scope, reuse=True)  # keeps the token
    return scope


def active_scope(frame: Frame) -> Scope:
    return _with_recorded_reuse(frame.scope, frame.run)


@contextlib.contextmanager
def activate(run: Run, root: Scope) -> Iterator[None]:
    """Makes ``run`` the current run with ``root`` as the current scope (used by transform)."""
    token = _FRAME.set(Frame(root, run))
    listener_token = REUSE_VARIABLES_LISTENER.set(_on_reuse_variables)
    try:
        yield
    finally:
        REUSE_VARIABLES_LISTENER.reset(listener_token)
        _FRAME.reset(token)


def get_variable_scope() -> Scope:
    """The current variable scope (TF1: ``tf.compat.v1.get_variable_scope()``).

    >>> import scopejax
    >>> def f():
    ...     with scopejax.variable_scope("enc", reuse=scopejax.AUTO_REUSE):
    ...         scope = scopejax.get_variable_scope()
    ...     return scope.name, scope.reuse is scopejax.AUTO_REUSE
    >>> scopejax.transform(f).init_with_output(None)[0]
    ('enc', True)
    """
    return active_scope(current_frame("get_variable_scope"))


class variable_scope:
    """Opens a variable scope, TF1-style; yields the new :class:`Scope`.

    Same arguments and rules as ``tf.compat.v1.variable_scope``: ``name_or_scope`` is a string
    (never uniquified) or a captured ``Scope`` (re-entered: its own reuse, not the enclosing
    one's); with ``name_or_scope=None``, ``default_name`` is uniquified (``dense``,
    ``dense_1``...). Must run inside a function transformed by :func:`scopejax.transform`.

    >>> import jax, scopejax
    >>> def f():
    ...     with scopejax.variable_scope("foo"):
    ...         with scopejax.variable_scope("bar"):
    ...             return scopejax.get_variable("v", [1])
    >>> scopejax.transform(f).init(jax.random.key(0)).names()
    ('foo/bar/v',)

    TF1 equivalent: ``tf.compat.v1.variable_scope``.
    """

    __slots__ = ("_args", "_aux", "_default_name", "_entered", "_frame_token", "_name_or_scope",
                 "_reuse", "_run", "_snapshot")  # fmt: skip

    def __init__(
        self,
        name_or_scope: str | Scope | None,
        default_name: str | None = None,
        values: Any = None,
        initializer: Any = None,
        regularizer: Any = None,
        caching_device: Any = None,
        partitioner: Any = None,
        custom_getter: Any = None,
        reuse: Any = None,
        dtype: Any = None,
        use_resource: bool | None = None,
        constraint: Any = None,
        auxiliary_name_scope: bool = True,
    ) -> None:
        del values  # graph membership has no JAX counterpart
        if default_name is None and name_or_scope is None:
            raise ScopeTypeError("If default_name is None then name_or_scope is required")
        if not (name_or_scope is None or isinstance(name_or_scope, str | Scope)):
            raise ScopeTypeError(
                "VariableScope: name_or_scope must be a string or VariableScope. Got "
                f"{type(name_or_scope).__name__} {name_or_scope!r}; pass a str or a "
                "scopejax.Scope."
            )
        if not isinstance(auxiliary_name_scope, bool):
            raise ScopeTypeError(
                "The auxiliary_name_scope must be `True` or `False`, while get "
                f"{auxiliary_name_scope!r}"
            )
        self._name_or_scope = name_or_scope
        self._aux = auxiliary_name_scope
        self._default_name = default_name
        self._reuse = check_reuse(reuse)
        args = (initializer, regularizer, caching_device, partitioner, custom_getter, dtype,
                use_resource, constraint)  # fmt: skip
        # None when no default is given (the common case): the child copies its parent's.
        self._args = None if all(a is None for a in args) else dict(
            initializer=initializer, regularizer=regularizer, caching_device=caching_device,
            partitioner=partitioner, custom_getter=custom_getter, dtype=dtype,
            use_resource=use_resource, constraint=constraint,
        )  # fmt: skip
        self._entered: Scope | None = None

    def __enter__(self) -> Scope:
        if self._entered is not None:
            raise ScopeNestingError(
                "This variable_scope(...) object is already active; create a new one per `with`."
            )
        frame = current_frame("variable_scope")
        run, parent = frame.run, active_scope(frame)
        given, aux = self._name_or_scope, self._aux
        in_name_scope = frame.in_name_scope
        self._snapshot = None
        if isinstance(given, Scope):
            last = given.name.rsplit("/", 1)[-1]
            if aux and last:  # TF opens a name scope named after the last component
                names.check_name_scope(last, not in_name_scope, parent.name)
                in_name_scope = True
            new = _with_recorded_reuse(given, run).reenter(reuse=self._reuse, **(self._args or {}))
            run.counts.open(new.name)
            self._snapshot = run.counts.snapshot()
        elif given is not None:
            names.check_path(given, parent.name)
            if aux and (given or parent.name):
                names.check_name_scope(given, not in_name_scope, parent.name)
                in_name_scope = True
            new = (parent._plain_child(given, self._reuse) if self._args is None
                   else parent._child(given, reuse=self._reuse, **self._args))
            run.counts.open(new.name)
        else:
            if self._reuse:
                raise ReuseError(
                    "reuse=True cannot be used without a name_or_scope (default_name="
                    f"{self._default_name!r} is uniquified, so there is nothing to reuse). "
                    "Pass the scope's name, or reuse=None."
                )
            if not isinstance(self._default_name, str):
                raise ScopeTypeError(
                    f"default_name must be a string, got {self._default_name!r}."
                )
            names.check_path(self._default_name, parent.name)
            if aux:
                names.check_name_scope(self._default_name, not in_name_scope, parent.name)
                in_name_scope = True
            unique = run.counts.unique_name(parent.name, self._default_name)
            new = (parent._plain_child(unique, None) if self._args is None
                   else parent._child(unique, reuse=None, **self._args))
            run.counts.open(new.name)
        self._run = run
        self._entered = new
        self._frame_token = _FRAME.set(Frame(new, run, in_name_scope))
        return new

    def __exit__(self, *exc: object) -> None:
        entered = self._entered
        if entered is None:
            raise ScopeNestingError(
                "Improper nesting of variable_scope: __exit__ called on a variable_scope that was "
                "not entered. Use it as `with scopejax.variable_scope(...):`."
            )
        run = self._run
        frame = _FRAME.get()
        if frame is None or frame.run is not run or frame.scope._token is not entered._token:
            # Like TF: refuse, and change nothing, so the scopes still open stay consistent.
            raise ScopeNestingError(
                f"Improper nesting of variable_scope. Exiting scope '{entered.name}' while "
                f"'{frame.scope.name if frame else '<no scope>'}' is active: exit scopes in the "
                "reverse order of entering them (use `with` blocks)."
            )
        try:
            if self._snapshot is not None:
                run.counts.restore(self._snapshot)
            else:
                run.counts.close_subscopes(entered.name)
            _FRAME.reset(self._frame_token)
        finally:
            self._entered = None


def get_variable(
    name: str,
    shape: Any = None,
    dtype: Any = None,
    initializer: Any = None,
    regularizer: Any = None,
    trainable: bool | None = None,
    collections: Any = None,
    caching_device: Any = None,
    partitioner: Any = None,
    validate_shape: bool = True,
    use_resource: bool | None = None,
    custom_getter: Any = None,
    constraint: Any = None,
) -> Any:
    """Gets an existing variable or creates a new one, under TF1's reuse rules.

    The name is prefixed with the current scope (``"foo/bar/v"``). During ``init`` a new
    variable is initialised from the init key and its full name; during ``apply`` its value comes
    from the params. Returns the variable's value (a ``jax.Array``, or a tracer under jit).

    >>> import jax, scopejax
    >>> def f():
    ...     with scopejax.variable_scope("foo", reuse=scopejax.AUTO_REUSE):
    ...         v1 = scopejax.get_variable("v", [1])
    ...         v2 = scopejax.get_variable("v", [1])
    ...     return v1 is v2
    >>> model = scopejax.transform(f)
    >>> params = model.init(jax.random.key(0))
    >>> params.names(), model.apply(params)
    (('foo/v',), True)

    TF1 equivalent: ``tf.compat.v1.get_variable``.
    """
    frame = _FRAME.get() or current_frame("get_variable")
    run = frame.run
    scope = _with_recorded_reuse(frame.scope, run) if run.reused_tokens else frame.scope
    if (regularizer is None and caching_device is None and partitioner is None
            and custom_getter is None and constraint is None and use_resource is None
            and validate_shape is True and type(name) is str
            and (trainable is None or trainable is True or trainable is False)
            and scope.regularizer is None and scope.caching_device is None
            and scope.partitioner is None and scope.custom_getter is None
            and scope.constraint is None
            and (scope.use_resource is None or type(scope.use_resource) is bool)
            and (initializer is None or callable(initializer))):  # fmt: skip
        # The plain case (most calls): skip the argument handling when it was done before.
        value = getter.fast_get_variable(run, scope, name, shape, dtype, initializer, trainable,
                                         collections)  # fmt: skip
        if value is not getter.NOT_PREPARED:
            return value
    return getter.scope_get_variable(
        run, scope, name, shape, dtype, initializer, regularizer, trainable, collections,
        caching_device, partitioner, validate_shape, use_resource, custom_getter, constraint,
    )  # fmt: skip


def get_local_variable(name: str, *args: Any, collections: Any = None,
                       trainable: bool | None = False, **kwargs: Any) -> Any:  # fmt: skip
    """``get_variable`` for a local variable: in ``LOCAL_VARIABLES``, never trainable.

    Takes ``get_variable``'s arguments. As in TF, ``trainable`` is forced to False (even when
    True is passed) and the collections are ``collections + ["local_variables"]`` instead of
    ``GLOBAL_VARIABLES``.

    >>> import jax, scopejax
    >>> def f():
    ...     scopejax.get_local_variable("count", [], initializer=scopejax.zeros_initializer())
    >>> store = scopejax.transform(f).init(None)
    >>> store.info("count").trainable, store.info("count").collections
    (False, ('local_variables',))

    TF1 equivalent: ``tf.compat.v1.get_local_variable``.
    """
    del trainable  # TF1 forces False
    if len(args) > 4:
        raise ScopeTypeError(
            f"get_local_variable({name!r}, ...) takes shape, dtype, initializer and regularizer "
            "positionally; pass trainable, collections and later arguments by keyword."
        )
    if collections is None:
        keys = []
    elif isinstance(collections, str) or not isinstance(collections, Iterable):
        keys = [collections]  # get_variable reports the bad value with the variable's name
    else:
        keys = list(collections)
    return get_variable(name, *args, trainable=False, collections=[*keys, "local_variables"],
                        **kwargs)  # fmt: skip
