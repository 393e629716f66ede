"""Random TF1 scope programs, shared by the TF differential tests and the property tests.

A program is a list of nodes run against ``tf_oracle.Api`` (real ``tf.compat.v1`` or scopejax):
``("get", name, shape, dtype, init)``, ``("current",)``, ``("reuse_variables", target)`` and
``("scope", kind, name, default_name, captured_index, reuse, dtype, body)`` where ``kind`` is how
the scope is opened: by name, by default name, by re-entering a captured scope object, or by
re-entering the current scope. ``programs()`` is the hypothesis strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from tf_oracle import Api

Program = Callable[[Api], Any]
REUSES = [None, False, True, "AUTO"]


def as_reuse(api: Api, reuse: Any) -> Any:
    """A reuse token of the tables ("AUTO" for AUTO_REUSE) as the engine's value."""
    return api.AUTO_REUSE if reuse == "AUTO" else reuse


SCOPE_NAMES = ["a", "b", "a/b", "layer", "layer_1", "_s"]
DEFAULT_NAMES = ["layer", "a", "a/b"]
VAR_NAMES = ["v", "w", "a/v", "_u"]
SHAPES = [None, [], [1], [2], [2, 3], [None, 3]]
DTYPES = [None, "float32", "int32", "float16"]
INITS = [None, "zeros", "const1", "value"]
KINDS = ["name", "default", "captured", "current"]


def _initializer(api: Api, kind: str | None) -> Any:
    if kind == "zeros":
        return api.zeros_initializer()
    if kind == "const1":
        return api.constant_initializer(1)
    return 2 if kind == "value" else None


def _run_block(api: Api, nodes: list[Any], caps: list[Any]) -> None:
    for node in nodes:
        op = node[0]
        if op == "get":
            _, name, shape, dtype, init = node
            api.get(name, shape, dtype=dtype, initializer=_initializer(api, init))
        elif op == "current":
            api.current()
        elif op == "reuse_variables":
            target = node[1]
            if target == "current":
                api.get_variable_scope().reuse_variables()
            elif caps:
                caps[target % len(caps)].reuse_variables()
        else:
            _, kind, name, default, cap, reuse, dtype, body = node
            if kind == "name":
                target: Any = name
            elif kind == "default":
                target = None
            elif kind == "captured":
                target = caps[cap % len(caps)] if caps else name
            else:
                target = api.get_variable_scope()
            kwargs = {"dtype": dtype} if dtype else {}
            with api.guard(f"open {kind}"):
                with api.scope(target, default, reuse=as_reuse(api, reuse), **kwargs) as s:
                    caps.append(s)
                    _run_block(api, body, caps)


def _program(nodes: list[Any]) -> Program:
    def prog(api: Api) -> None:
        _run_block(api, nodes, [])

    return prog


GETS = st.tuples(st.just("get"), st.sampled_from(VAR_NAMES), st.sampled_from(SHAPES),
                st.sampled_from(DTYPES), st.sampled_from(INITS))  # fmt: skip
# One (name, shape, dtype, initializer) per variable name: gets never conflict with each other.
CONSISTENT_GETS = st.sampled_from([
    ("get", "v", [2], None, "zeros"), ("get", "w", [2, 3], "float16", None),
    ("get", "a/v", [], "int32", "const1"), ("get", "b", [1], None, None),
])  # fmt: skip


def programs(depth: int = 3, max_size: int = 6, *, gets: st.SearchStrategy[Any] = GETS,
             kinds: list[str] = KINDS, reuses: list[Any] = REUSES,
             scope_dtypes: list[Any] | None = None, reuse_variables: bool = True,
             scope_names: list[str] = SCOPE_NAMES) -> st.SearchStrategy[list[Any]]:  # fmt: skip
    """Random programs: up to ``max_size`` top-level nodes, scopes nested ``depth`` deep.

    The keyword arguments narrow what is generated (for properties that only hold, say, without
    default-named scopes); by default everything is.
    """
    if scope_dtypes is None:
        scope_dtypes = [None, None, None, "float16"]
    leaves = [gets, gets, st.just(("current",))]
    if reuse_variables:
        leaves.append(st.tuples(st.just("reuse_variables"),
                                st.one_of(st.just("current"), st.integers(0, 4))))  # fmt: skip
    leaf = st.one_of(*leaves)

    def node(level: int) -> st.SearchStrategy[Any]:
        if level == 0:
            return leaf
        scope = st.tuples(
            st.just("scope"), st.sampled_from(kinds), st.sampled_from(scope_names),
            st.sampled_from(DEFAULT_NAMES), st.integers(0, 4), st.sampled_from(reuses),
            st.sampled_from(scope_dtypes), st.lists(node(level - 1), max_size=4),
        )  # fmt: skip
        return st.one_of(leaf, scope, scope)

    return st.lists(node(depth), min_size=1, max_size=max_size)


def program(nodes: list[Any]) -> Program:
    """The program that runs ``nodes``."""
    return _program(nodes)
