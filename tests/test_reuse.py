"""The reuse decision table, cell by cell, in init, in apply and in the pure API."""

import jax
import pytest

import scopejax as sj
from scopejax import AUTO_REUSE
from scopejax._src.reuse import TABLE, Decision, decide

KEY = jax.random.key(0)

CELLS = [
    # (exists, reuse, decision)
    (False, False, Decision.CREATE),
    (True, False, Decision.EXISTS_ERROR),
    (False, True, Decision.MISSING_ERROR),
    (True, True, Decision.RETURN),
    (False, AUTO_REUSE, Decision.CREATE),
    (True, AUTO_REUSE, Decision.RETURN),
]
ERRORS = {
    Decision.EXISTS_ERROR: (sj.VariableExistsError, r"Variable s/v already exists, disallowed\. "
                            r"Did you mean to set reuse=True or reuse=AUTO_REUSE in VarScope\?"),
    Decision.MISSING_ERROR: (sj.VariableNotFoundError, r"Variable s/v does not exist, or was not "
                             r"created with get_variable\(\)\. Did you mean to set "
                             r"reuse=AUTO_REUSE in VarScope\?"),
}  # fmt: skip


def test_table_is_complete():
    assert {(e, r) for e, r, _ in CELLS} == set(TABLE)
    for exists, reuse, decision in CELLS:
        assert decide(exists, reuse) is decision


def program(exists, reuse, log):
    def f():
        if exists:
            with sj.variable_scope("s"):
                log.append(sj.get_variable("v", [2]))
        with sj.variable_scope("s", reuse=reuse if reuse else None):
            log.append(sj.get_variable("v", [2]))
    return f


@pytest.mark.parametrize("exists, reuse, decision", CELLS)
def test_cell_in_init_and_apply(exists, reuse, decision):
    log = []
    model = sj.transform(program(exists, reuse, log))
    if decision in ERRORS:
        err, msg = ERRORS[decision]
        with pytest.raises(err, match=msg):
            model.init(KEY)
        # apply raises the same error: build a store that has the variable
        params = sj.ParamStore.from_flat_dict({"s/v": jax.numpy.zeros(2)})
        with pytest.raises(err, match=msg):
            model.apply(params)
        return
    params = model.init(KEY)
    assert params.names() == ("s/v",)
    if decision is Decision.RETURN:
        assert log[0] is log[1]
    log.clear()
    model.apply(params)
    assert all(v is params["s/v"] for v in log)


@pytest.mark.parametrize("exists, reuse, decision", CELLS)
def test_cell_in_pure_api(exists, reuse, decision):
    store = sj.ParamStore()
    scope = sj.Scope.root().child("s", reuse=reuse if reuse else None)
    if exists:
        _, store = sj.pure.get_variable(store, sj.Scope.root().child("s"), "v", [2], key=KEY)
    if decision in ERRORS:
        err, msg = ERRORS[decision]
        with pytest.raises(err, match=msg):
            sj.pure.get_variable(store, scope, "v", [2], key=KEY)
        return
    value, new = sj.pure.get_variable(store, scope, "v", [2], key=KEY)
    assert new.names() == ("s/v",)
    if decision is Decision.RETURN:
        assert new is store and value is store["s/v"]
