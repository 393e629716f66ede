"""Differential tests of collections, regularisation losses and their gradients against TF1.

A *program* is a tuple of nodes, run by one interpreter on real ``tf.compat.v1`` (a fresh
``tf.Graph()``, values from a ``Session``) and inside ``scopejax.transform`` (eager ``init`` and
jitted ``apply``):

* ``("scope", name, reuse, regularizer, body)`` -- ``variable_scope(name, reuse=...,
  regularizer=...)``; reuse is ``None``, ``True`` or ``"AUTO"``.
* ``("get", name, shape, k, trainable, collections, local, regularizer)`` -- ``get_variable``
  (``get_local_variable`` if ``local``) with ``constant_initializer(value(shape, k))``, so every
  variable has distinct, known values; ``trainable``/``collections`` ``None`` are not passed.

Regularizers are tokens: ``("l2", s)`` (TF: ``s * tf.nn.l2_loss(w)``), ``("l1", s)``,
``("l1l2", s1, s2)``, ``"no"`` (``no_regularizer``), ``"none_fn"`` (returns ``None``).

Compared: every collection (ordered names and values), ``get_collection(key, scope=regex)``, the
regularisation losses (ordered values, per-variable via the ``"<var>/Regularizer"`` filter) and
``get_regularization_loss(scope)``, the store's ``collection(key)``/``info().collections``, and
the gradient of ``sum(sin(every get)) + get_regularization_loss()`` w.r.t. every variable.
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

tf = pytest.importorskip(
    "tensorflow",
    reason="tensorflow not installed (pip install scopejax[tf]); differential tests need it",
)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import scopejax as sj  # noqa: E402

tf1 = tf.compat.v1
GK = sj.GraphKeys
REG = GK.REGULARIZATION_LOSSES
VAR_KEYS = (GK.GLOBAL_VARIABLES, GK.TRAINABLE_VARIABLES, GK.LOCAL_VARIABLES,
            GK.MODEL_VARIABLES, "custom")  # fmt: skip
PATTERNS = ("a", "a/", "a_", "a.b", "a/b", "b", ".*w")


def value(shape: tuple[int, ...], k: int) -> np.ndarray:
    """Distinct initial values of the k-th get: first entry 10k - 0.5, includes 0.0 when k = 0."""
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float32) * 0.5 - 0.5 + 10 * k).reshape(shape)


def _regularizer(tok: Any, no: Any, l1: Any, l2: Any) -> Any:
    if tok is None or tok == "no":
        return None if tok is None else no
    return (lambda w: None) if tok == "none_fn" else {"l1": l1, "l2": l2}[tok[0]](tok[1])


class TFEngine:
    AUTO = tf1.AUTO_REUSE

    def __init__(self) -> None:
        self.created: list[Any] = []

    @staticmethod
    def regularizer(tok: Any) -> Any:
        l1 = lambda s: lambda w: s * tf.reduce_sum(tf.abs(w))
        l2 = lambda s: lambda w: s * tf.nn.l2_loss(w)
        if isinstance(tok, tuple) and tok[0] == "l1l2":
            return lambda w: l1(tok[1])(w) + l2(tok[2])(w)
        return _regularizer(tok, tf1.no_regularizer, l1, l2)

    def scope(self, name: str, reuse: Any, reg: Any) -> Any:
        return tf1.variable_scope(name, reuse=reuse, regularizer=self.regularizer(reg))

    def get(self, name: str, shape: Any, init: np.ndarray, local: bool, **kw: Any) -> Any:
        fn = tf1.get_local_variable if local else tf1.get_variable
        v = fn(name, shape, initializer=tf1.constant_initializer(init), **kw)
        if not any(v is c for c in self.created):
            self.created.append(v)
        return v

    get_collection = staticmethod(tf1.get_collection)
    reg_loss = staticmethod(tf1.losses.get_regularization_loss)
    sin_sum = staticmethod(lambda v: tf.reduce_sum(tf.sin(v)))


class SJEngine:
    AUTO = sj.AUTO_REUSE

    @staticmethod
    def regularizer(tok: Any) -> Any:
        if isinstance(tok, tuple) and tok[0] == "l1l2":
            return sj.l1_l2_regularizer(tok[1], tok[2])
        return _regularizer(tok, sj.no_regularizer, sj.l1_regularizer, sj.l2_regularizer)

    def scope(self, name: str, reuse: Any, reg: Any) -> Any:
        return sj.variable_scope(name, reuse=reuse, regularizer=self.regularizer(reg))

    def get(self, name: str, shape: Any, init: np.ndarray, local: bool, **kw: Any) -> Any:
        fn = sj.get_local_variable if local else sj.get_variable
        return fn(name, shape, initializer=sj.constant_initializer(init), **kw)

    get_collection = staticmethod(sj.get_collection)
    reg_loss = staticmethod(sj.get_regularization_loss)
    sin_sum = staticmethod(lambda v: jnp.sum(jnp.sin(v)))


def interpret(prog: tuple[Any, ...], eng: Any) -> dict[str, Any]:
    """Runs ``prog`` on ``eng``; returns label -> list of collection items (or a scalar)."""
    gets: list[Any] = []
    full_names: dict[str, None] = {}

    def run(nodes: tuple[Any, ...], path: str) -> None:
        for node in nodes:
            if node[0] == "scope":
                _, name, reuse, reg, body = node
                with eng.scope(name, eng.AUTO if reuse == "AUTO" else reuse, reg):
                    run(body, f"{path}{name}/")
                continue
            _, name, shape, k, trainable, collections, local, reg = node
            kw: dict[str, Any] = {"regularizer": eng.regularizer(reg)}
            if trainable is not None:
                kw["trainable"] = trainable
            if collections is not None:
                kw["collections"] = list(collections)
            gets.append(eng.get(name, shape, value(shape, k), local, **kw))
            full_names[path + name] = None

    run(prog, "")
    out: dict[str, Any] = {key: eng.get_collection(key) for key in (*VAR_KEYS, REG)}
    for p in PATTERNS:
        for key in (GK.GLOBAL_VARIABLES, GK.TRAINABLE_VARIABLES, REG):
            out[f"{key}|{p}"] = eng.get_collection(key, scope=p)
        out[f"total|{p}"] = eng.reg_loss(scope=p)
    for name in full_names:  # the losses of one variable
        out[f"loss_of|{name}"] = eng.get_collection(REG, scope=re.escape(name) + "/Regularizer")
    out["total"] = eng.reg_loss()
    task = sum((eng.sin_sum(v) for v in gets), start=0.0)
    out["objective"] = task + out["total"]
    return out


def run_tf(prog: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """TF's (label -> (names or None, values)) and facts about its variables."""
    g = tf.Graph()
    with g.as_default():
        eng = TFEngine()
        out = interpret(prog, eng)
        grads = tf.gradients(out["objective"], eng.created)
        names = {id(v): v.name.removesuffix(":0") for v in eng.created}
        colls = {n: set() for n in names.values()}
        for key in g.get_all_collection_keys():
            for item in g.get_collection(key):
                if id(item) in names and any(item is v for v in eng.created):
                    colls[names[id(item)]].add(key)
        with tf1.Session(graph=g) as sess:
            sess.run(tf1.variables_initializer(eng.created))
            vals, grad_vals = sess.run((out, grads))
    res = {}
    for label, items in out.items():
        is_vars = label.split("|")[0] in VAR_KEYS
        res[label] = ([names[id(v)] for v in items] if is_vars else None, vals[label])
    facts = {"collections": colls, "trainable": {names[id(v)]: v.trainable for v in eng.created},
             "grads": dict(zip(names.values(), grad_vals, strict=True))}  # fmt: skip
    return res, facts


def name_of(x: Any, params: sj.ParamStore) -> str:
    """The one variable of ``params`` whose value equals ``x`` (values are distinct by design)."""
    hits = [n for n, v in params.items() if np.shape(v) == np.shape(x) and np.array_equal(v, x)]
    assert len(hits) == 1, (x, hits)
    return hits[0]


def check_against_tf(prog: tuple[Any, ...]) -> dict[str, Any]:
    tf_out, facts = run_tf(prog)
    model = sj.transform(lambda: interpret(prog, SJEngine()))
    init_out, params = model.init_with_output(jax.random.key(0))
    apply_out = jax.jit(model.apply)(params)
    for where, out in (("init", init_out), ("apply", apply_out)):
        assert set(out) == set(tf_out), where
        for label, (tf_names, tf_vals) in tf_out.items():
            got = out[label]
            if not isinstance(tf_vals, list):  # a regularisation loss total / the objective
                assert np.asarray(got).dtype == np.float32, (where, label)
                np.testing.assert_allclose(got, tf_vals, rtol=1e-6, err_msg=f"{where} {label}")
                continue
            assert len(got) == len(tf_vals), (where, label, tf_names)
            for a, b in zip(got, tf_vals, strict=True):
                assert np.asarray(a).dtype == np.float32, (where, label)
                np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=f"{where} {label}")
            if tf_names is not None:
                assert [name_of(x, params) for x in got] == tf_names, (where, label)
    # The ParamStore's names per collection and each variable's collections.
    assert sorted(params) == sorted(facts["collections"])
    for key in VAR_KEYS:
        assert sorted(params.collection(key)) == sorted(tf_out[key][0]), key
    for name, keys in facts["collections"].items():
        assert set(params.info(name).collections) == keys, name
        assert params.info(name).trainable == facts["trainable"][name], name
    # Gradients of task + regularisation loss.
    grads = jax.jit(jax.grad(lambda p: model.apply(p)["objective"]))(params)
    for name, g in facts["grads"].items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-5, atol=1e-7, err_msg=name)
    return tf_out


def get(
    name: str, shape: tuple[int, ...], k: int, *, trainable: Any = None,
    collections: Any = None, local: bool = False, reg: Any = None,
) -> tuple[Any, ...]:  # fmt: skip
    return ("get", name, shape, k, trainable, collections, local, reg)


def scope(name: str, *body: Any, reuse: Any = None, reg: Any = None) -> tuple[Any, ...]:
    return ("scope", name, reuse, reg, body)


L2, L1 = ("l2", 0.5), ("l1", 0.25)
CASES = {
    "nested_scopes_and_reuse": (
        scope("a", get("v", (2,), 0), scope("b", get("w", (2, 3), 1)), get("w", (), 2)),
        scope("a", scope("b", get("w", (2, 3), 3), reuse=True), get("v", (2,), 4), reuse=True),
        scope("a_", get("v", (3,), 5)),
        scope("b", get("w", (2,), 6), get("w", (2,), 7), reuse="AUTO"),
        scope("a", scope("b", get("u", (), 8), get("w", (2, 3), 9)), reuse="AUTO"),
    ),
    "trainable_and_collections": (
        scope("a", get("v", (2,), 0, trainable=False), get("w", (2,), 1, collections=[])),
        scope(
            "a",
            get("x", (), 2, collections=[], trainable=False),
            get("y", (), 3, collections=["custom"]),
            get("m", (2,), 4, collections=[GK.GLOBAL_VARIABLES, GK.MODEL_VARIABLES]),
            get("n", (), 5, collections=[GK.LOCAL_VARIABLES]),
            get("t", (), 6, collections=[GK.TRAINABLE_VARIABLES], trainable=False),
        ),
        scope("b", get("w", (3,), 7, collections=["custom", GK.GLOBAL_VARIABLES, "custom"])),
    ),
    "local_variables": (
        scope(
            "a",
            get("v", (2,), 0, local=True),
            get("w", (), 1, local=True, trainable=True),
            get("m", (), 2, local=True, collections=[GK.MODEL_VARIABLES, "custom"]),
        ),
        scope("a", get("v", (2,), 3, local=True), get("w", (), 4), reuse=True),
        get("v", (), 5, local=True, trainable=False),
    ),
    "scope_regularizer_inherited_and_overridden": (
        scope(
            "a",
            get("v", (2,), 2),
            scope("b", get("w", (2, 3), 1), get("x", (2,), 0, reg=L1), reg=("l1l2", 0.25, 0.5)),
            get("n", (2,), 3, reg="no"),
            get("f", (), 4, reg="none_fn"),
            get("t", (2,), 5, trainable=False),
            reg=L2,
        ),
        scope("b", get("w", (2,), 6, reg=L2), get("u", (), 7, reg="no")),
    ),
    "regularized_reuse_adds_no_loss": (
        scope("a", get("v", (2,), 0), get("l", (2,), 1, local=True), reg=L2),
        scope("a", get("v", (2,), 2, reg=L1), get("l", (2,), 3), reuse=True),
        scope("a", get("v", (2,), 4), get("w", (), 5), reuse="AUTO", reg=L1),
        scope("a", scope("b", get("v", (3,), 6, reg=L2)), get("w", (), 7), reuse="AUTO"),
        scope("a", scope("b", get("v", (3,), 8)), reuse="AUTO"),
        scope("c", get("u", (), 9)),  # no regularizer at creation: none added on reuse
        scope("c", get("u", (), 10, reg=L1), reuse="AUTO", reg=L2),
    ),
    "regularizer_returning_none_everywhere": (
        scope("a", get("v", (2,), 0), scope("b", get("w", (), 1)), reg="none_fn"),
        scope("b", get("v", (), 2, reg="no")),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_program(case: str) -> None:
    out = check_against_tf(CASES[case])
    names = out[GK.GLOBAL_VARIABLES][0]
    for p in PATTERNS:  # the filter is TF's re.match on "name:0"
        assert out[f"{GK.GLOBAL_VARIABLES}|{p}"][0] == [n for n in names if re.match(p, n + ":0")]
    # TF's answers, guarding that the cases exercise what they claim to.
    if case == "scope_regularizer_inherited_and_overridden":
        assert len(out[REG][1]) == 5  # a/v, a/b/w, a/b/x, a/t, b/w; n, f, u give none
        assert [len(out[f"loss_of|{n}"][1]) for n in ("a/v", "a/n", "a/f", "a/t")] == [1, 0, 0, 1]
    elif case == "regularized_reuse_adds_no_loss":
        assert len(out[REG][1]) == 4  # a/v, a/l, a/w, a/b/v: reuse adds nothing
        assert out["local_variables"][0] == ["a/l"]
    elif case == "trainable_and_collections":
        assert out["custom"][0] == ["a/y", "b/w"]
        assert out[GK.TRAINABLE_VARIABLES][0] == ["a/w", "a/y", "a/m", "a/n", "a/t", "b/w"]
    elif case == "nested_scopes_and_reuse":
        assert out[f"{GK.GLOBAL_VARIABLES}|a"][0] == ["a/v", "a/b/w", "a/w", "a_/v", "a/b/u"]


# ------------------------------------------------------------------------- random programs

SCOPE_NAMES = ("a", "b", "a_")
VAR_NAMES = ("v", "w")
SHAPES = ((), (2,), (2, 3))
REGS = st.sampled_from([None, None, None, L2, L1, ("l1l2", 0.125, 2.0), "no", "none_fn"])
COLLS = st.sampled_from([None, None, (), ("custom",), (GK.GLOBAL_VARIABLES, GK.MODEL_VARIABLES),
                         (GK.LOCAL_VARIABLES,), (GK.MODEL_VARIABLES, "custom")])  # fmt: skip


@st.composite
def programs(draw: Any) -> tuple[Any, ...]:
    """2-4 scopes (depth <= 3), up to 6 gets, valid under TF's reuse rules (no errors)."""
    created: dict[str, tuple[int, ...]] = {}
    budget = {"scopes": draw(st.integers(2, 4)), "gets": 6, "k": 0}

    def get_node(path: str, reuse: Any) -> tuple[Any, ...] | None:
        here = [n for n in VAR_NAMES if path + n in created]
        fresh = [n for n in VAR_NAMES if path + n not in created]
        choices = {True: here, "AUTO": here + fresh}.get(reuse, fresh)
        if not choices or budget["gets"] == 0:
            return None
        name = draw(st.sampled_from(choices))
        shape = created.setdefault(path + name, draw(st.sampled_from(SHAPES)))
        budget["gets"] -= 1
        budget["k"] += 1
        return get(name, shape, budget["k"], trainable=draw(st.sampled_from([None, True, False])),
                   collections=draw(COLLS), local=draw(st.booleans()), reg=draw(REGS))  # fmt: skip

    def block(path: str, reuse: Any, depth: int) -> tuple[Any, ...]:
        body: list[Any] = []
        for _ in range(draw(st.integers(1, 3))):
            if budget["scopes"] and depth < 3 and draw(st.booleans()):
                budget["scopes"] -= 1
                name = draw(st.sampled_from(SCOPE_NAMES))
                r = draw(st.sampled_from([None, "AUTO", True]))
                if r is True and not any(n.startswith(f"{path}{name}/") for n in created):
                    r = None  # nothing to reuse there
                eff = r or reuse  # TF: child reuse, else the parent's
                body.append(scope(name, *block(f"{path}{name}/", eff, depth + 1), reuse=r,
                                  reg=draw(REGS)))  # fmt: skip
            elif (node := get_node(path, reuse)) is not None:
                body.append(node)
        return tuple(body)

    prog = block("", None, 0)
    while budget["gets"] > 4 and (node := get_node("", None)) is not None:
        prog += (node,)  # at least 2 gets
    while budget["scopes"]:  # spend the remaining scopes at the top level
        budget["scopes"] -= 1
        name = draw(st.sampled_from(SCOPE_NAMES))
        prog += (scope(name, *block(f"{name}/", "AUTO", 1), reuse="AUTO", reg=draw(REGS)),)
    return prog


@settings(max_examples=25, deadline=None, derandomize=True)
@given(programs())
def test_random_programs(prog: tuple[Any, ...]) -> None:
    check_against_tf(prog)


def test_add_to_collection_interleaves_with_variables() -> None:
    """Values added between and after variables (and their losses): same items, order, totals."""

    def build(api: Any, const: Any, l2: Any) -> dict[str, Any]:
        with api.variable_scope("a", regularizer=l2):
            api.get_variable("v", [2], initializer=api.constant_initializer(value((2,), 1)),
                             collections=["custom", GK.GLOBAL_VARIABLES])  # fmt: skip
            api.add_to_collection("custom", const(7.0))
            api.add_to_collection(REG, const(3.0))
            api.get_variable("w", [], initializer=api.constant_initializer(value((), 5)),
                             collections=["custom", GK.GLOBAL_VARIABLES])  # fmt: skip
        with api.variable_scope("b"):
            api.add_to_collections(["custom", REG], const(-2.0))
        out = {f"custom|{p}": api.get_collection("custom", scope=p) for p in (None, "a/", "b")}
        out |= {f"reg|{p}": api.get_collection(REG, scope=p) for p in (None, "a/", "b")}
        return out | {"total": [api.losses.get_regularization_loss()]}

    g = tf.Graph()
    with g.as_default():
        tf_out = build(tf1, tf.constant, lambda w: 0.5 * tf.nn.l2_loss(w))
        with tf1.Session(graph=g) as sess:
            sess.run(tf1.global_variables_initializer())
            tf_vals = sess.run(tf_out)

    class SJ:
        variable_scope, get_variable = sj.variable_scope, sj.get_variable
        constant_initializer, get_collection = sj.constant_initializer, sj.get_collection
        add_to_collection, add_to_collections = sj.add_to_collection, sj.add_to_collections
        losses = sj  # sj.get_regularization_loss

    model = sj.transform(lambda: build(SJ, jnp.float32, sj.l2_regularizer(0.5)))
    init_out, params = model.init_with_output(None)
    for out in (init_out, jax.jit(model.apply)(params)):
        assert list(out) == list(tf_vals)
        for label, want in tf_vals.items():
            assert len(out[label]) == len(want), label
            for a, b in zip(out[label], want, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=label)
