"""errors.py: the hierarchy's helpers -- closest_names hints and call_user's signature check."""

import pytest

from scopejax._src.errors import (
    ScopeTypeError,
    VariableExistsError,
    call_user,
    closest_names,
)


def test_call_user_returns_the_result():
    assert call_user(lambda a, b=2: a + b, "getter of v", "f(a)", 1) == 3


def test_call_user_names_role_and_convention_on_a_signature_mismatch():
    with pytest.raises(ScopeTypeError, match=r"The partitioner of variable w cannot be called as "
                       r"`partitioner\(shape=..., dtype=...\)`: .*unexpected keyword") as info:
        call_user(lambda: 1, "partitioner of variable w", "partitioner(shape=..., dtype=...)",
                  shape=(2,), dtype="float32")
    assert isinstance(info.value.__cause__, TypeError)  # the original error stays chained


def test_call_user_keeps_type_errors_from_inside_the_function():
    def getter(value):
        return value + "x"  # a bug in user code, not a calling-convention problem

    with pytest.raises(TypeError, match="unsupported operand") as info:
        call_user(getter, "constraint of variable w", "constraint(value)", 1)
    assert not isinstance(info.value, ScopeTypeError)


def test_call_user_lets_scopejax_errors_through():
    def getter():
        raise VariableExistsError("Variable v already exists")

    with pytest.raises(VariableExistsError, match="already exists"):
        call_user(getter, "custom getter of variable v", "getter()")


def test_call_user_without_a_signature_keeps_the_error():
    # Builtins such as `max` have no inspectable signature: the TypeError is left as it is.
    with pytest.raises(TypeError, match="expected") as info:
        call_user(max, "regularizer of variable w", "regularizer(value)")
    assert not isinstance(info.value, ScopeTypeError)


def test_closest_names():
    assert closest_names("enc/w", ["enc/W", "dec/w"]).startswith("closest existing names: 'enc/W'")
    assert closest_names("x", []) == "the store is empty"
    assert closest_names("a/b/zzzz", ["q"]) == "no similar name among its 1 variables"
