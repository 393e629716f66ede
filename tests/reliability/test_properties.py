"""Model-based property tests: random TF1 scope programs against invariants that need no oracle.

Programs come from ``tests/programs.py`` (the generator the TensorFlow differential tests use, so
real ``tf.compat.v1`` checks the same programs there). Here every ``get_variable`` call is
observed through a custom getter installed on the re-entered root scope, which sees the reuse
mode in effect, and checked against a small independent model of TF1's reuse rules:

* a call under ``reuse=True`` never creates a variable; under ``reuse=None/False`` it never
  returns an existing one; a reused variable is the very object created first;
* the store holds exactly the variables that were created, under unique names;
* ``apply`` on the store ``init`` returned makes the same calls with the same outcomes and sees
  bitwise the values ``init`` created;
* a program run twice under ``variable_scope(..., reuse=AUTO_REUSE)`` creates nothing the second
  time and returns the same variables (AUTO_REUSE is idempotent).

Hypothesis profiles (root conftest): ``ci`` (default) is derandomized with 100 examples per
property; ``HYPOTHESIS_PROFILE=long`` runs 2,000 random examples and keeps failures in the local
example database. Failures found are pinned below with ``@example``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from hypothesis import example, given, settings
from programs import CONSISTENT_GETS, program, programs
from tf_oracle import run_program, scopejax_api

import scopejax as sj

KEY = jax.random.key(0)
EXISTS, NOT_FOUND = sj.VariableExistsError, sj.VariableNotFoundError


def _token(reuse: Any) -> Any:
    return "AUTO" if reuse is sj.AUTO_REUSE else reuse


def observed(nodes: list[Any], *, repeat: int = 1, outer_reuse: Any = None,
             before: Any = None):
    """``(model, log)``: the transformed program and the list its get_variable calls fill.

    Each entry is ``(name, reuse, error type or None, value or None)``. With ``repeat`` > 1 the
    program runs that many times inside ``variable_scope("m", reuse=outer_reuse)``. ``before()``
    runs first, outside the log.
    """
    log: list[tuple[str, Any, type | None, Any]] = []

    def recorder(getter, name, *args, **kwargs):
        reuse = _token(kwargs["reuse"])
        try:
            value = getter(name, *args, **kwargs)
        except (ValueError, TypeError) as e:
            log.append((name, reuse, type(e), None))
            raise
        log.append((name, reuse, None, value))
        return value

    def fn():
        if before is not None:
            before()
        with sj.variable_scope(sj.get_variable_scope(), custom_getter=recorder):
            for _ in range(repeat):
                api = scopejax_api()
                if outer_reuse is None:
                    run_program(program(nodes), api)
                else:
                    with sj.variable_scope("m", reuse=outer_reuse):
                        run_program(program(nodes), api)
        return len(log)

    return sj.transform(fn), log


def check_reuse_model(log, params) -> None:
    """The independent model of TF1's reuse rules, replayed over one call's log."""
    first: dict[str, Any] = {}
    for name, reuse, error, value in log:
        exists = name in first
        if error is None:
            if exists:
                assert reuse in (True, "AUTO"), f"{name} shared under reuse={reuse}"
                assert value is first[name], f"{name} returned another object when shared"
            else:
                assert reuse is not True, f"{name} created under reuse=True"
                first[name] = value
        elif error is EXISTS or issubclass(error, EXISTS):
            assert exists and reuse not in (True, "AUTO"), (name, reuse, exists)
        elif error is NOT_FOUND or issubclass(error, NOT_FOUND):
            assert not exists and reuse is True, (name, reuse, exists)
    # Exactly the created variables are stored, each once, with the value that was returned.
    assert len(set(params.names())) == len(params) == len(first)
    assert set(params.names()) == set(first), (params.names(), list(first))
    for name, value in first.items():
        assert params[name] is value or np.array_equal(params[name], value)


@settings(deadline=None)
@given(programs())
@example([("scope", "current", "a", "layer", 0, True, None, [("get", "v", [2], None, None)])])
@example([("get", "v", [2], None, None),
          ("scope", "name", "a", "layer", 0, "AUTO", None, [("reuse_variables", "current"),
                                                            ("get", "v", [2], None, None)])])
def test_get_variable_obeys_the_reuse_model(nodes):
    model, log = observed(nodes)
    params = model.init(KEY)
    check_reuse_model(log, params)


@settings(deadline=None)
@given(programs())
def test_apply_replays_init_exactly(nodes):
    model, log = observed(nodes)
    params = model.init(KEY)
    init_log = list(log)
    log.clear()
    model.apply(params)
    assert [e[:3] for e in log] == [e[:3] for e in init_log]
    for name, _, error, value in log:
        if error is None:
            got, want = np.asarray(value), np.asarray(params[name])
            assert got.dtype == want.dtype and np.array_equal(got, want), name


@settings(deadline=None)
@given(programs(gets=CONSISTENT_GETS, kinds=["name", "captured", "current"],
                reuses=[None, False, "AUTO"], scope_dtypes=[None], reuse_variables=False))
def test_auto_reuse_is_idempotent(nodes):
    once_model, once = observed(nodes, outer_reuse=sj.AUTO_REUSE)
    once_params = once_model.init(KEY)
    model, log = observed(nodes, repeat=2, outer_reuse=sj.AUTO_REUSE)
    params = model.init(KEY)
    half = len(log) // 2
    assert len(log) == 2 * len(once)
    first, second = log[:half], log[half:]
    assert [e[:3] for e in first] == [e[:3] for e in second] == [e[:3] for e in once]
    for a, b in zip(first, second, strict=True):
        assert a[3] is b[3]  # the same variable, not a copy
    assert params.names() == once_params.names()
    assert all(np.array_equal(params[n], once_params[n]) for n in params)


@settings(deadline=None)
@given(programs(depth=2, max_size=4))
def test_initial_values_do_not_depend_on_what_else_the_program_creates(nodes):
    # A variable's initial value depends on the key and its name only: adding variables before
    # it (in another scope) leaves it bitwise unchanged.
    model, _ = observed(nodes)
    params = model.init(KEY)
    def others():
        with sj.variable_scope("zz"):
            sj.get_variable("v", [3])
            sj.get_variable("w", [2], initializer=sj.ones_initializer())

    more = observed(nodes, before=others)[0].init(KEY)
    assert len(more) == len(params) + 2
    for name in params:
        assert np.array_equal(params[name], more[name]), name
