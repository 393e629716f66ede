"""Bad-input fuzzing of the public API: wrong inputs raise only documented scopejax errors.

Each case feeds a public function a wrong type, shape, dtype, name, store, key or flag and checks
that the error is a ``ScopeJaxError`` that is also the documented builtin (``ValueError``,
``TypeError``, ``KeyError``, ``RuntimeError``) and that its message names the variable, scope or
argument involved. Failed store operations must leave the store untouched, and a failed
``init``/``apply`` must leave nothing behind for the next call.
"""

import contextlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.sharding import PartitionSpec

import scopejax as E  # the error classes: E.ScopeTypeError...
import scopejax as sj
from scopejax import AUTO_REUSE, ParamStore, PartitionInfo, Scope, VarInfo, pure

KEY = jax.random.key(0)
BUILTINS = (ValueError, TypeError, KeyError, RuntimeError)


def within(scopes, body, key=KEY):
    """A thunk: ``init(key)`` of ``body()`` inside nested ``variable_scope(*args, **kwargs)``s."""

    def fn():
        with contextlib.ExitStack() as stack:
            for args, kwargs in scopes:
                stack.enter_context(sj.variable_scope(*args, **kwargs))
            return body()

    return lambda: sj.transform(fn).init(key)


def dense(x):
    with sj.variable_scope("m"):
        w = sj.get_variable("w", [x.shape[-1], 2])
        b = sj.get_variable("b", [2], initializer=sj.zeros_initializer())
    return x @ w + b[None]


def bad_nesting():
    a, b = sj.variable_scope("a"), sj.variable_scope("b")
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)


def enter_twice():
    scope = sj.variable_scope("a")
    with scope, scope:
        pass


# fmt: off
Opaque = type("Opaque", (), {"__repr__": lambda self: "Opaque()"})  # no argument accepts one
init = lambda fn, key=KEY: sj.transform(fn).init(key)
gv = lambda *a, **k: within([], lambda: sj.get_variable(*a, **k))  # at the root
blk = lambda **k: within([(("blk",), {})], lambda: sj.get_variable("kern", **k))  # blk/kern
part = lambda p: blk(shape=[4, 4], partitioner=p)
in_scope = lambda *a, parent="", **k: within([((parent,), {}), (a, k)],
                                             lambda: sj.get_variable("v", [2]))
twice = lambda reuse, **k: within([(("blk",), {"reuse": reuse})], lambda: (
    sj.get_variable("kern", [2]), sj.get_variable("kern", **k)))
Z = sj.zeros_initializer()
in_state = lambda body, rng=KEY: within([(("s",), {})], lambda: body(  # v: f32[2], n: i32[]
    sj.get_variable("v", [2], initializer=Z), sj.get_variable("n", [], "int32", initializer=Z)),
    rng)
const = lambda value: lambda shape, dtype: value
loop_creates = lambda x: jax.lax.scan(lambda c, _: (c * sj.get_variable("w", [2]), None), x,
                                      None, length=2)
pg = lambda *a, **k: lambda: pure.get_variable(*a, **k)
X = jnp.ones((1, 3))
MODEL = sj.transform(dense)
PARAMS, OTHER = MODEL.init(KEY, X), ParamStore.from_flat_dict({"o/w": jnp.ones((3, 2))})
FLAT, NESTED = ParamStore.from_flat_dict, ParamStore.from_nested_dict
STORE = FLAT({"a/w": jnp.ones((2, 3)), "a/b": jnp.zeros(3), "n": 0})
R, P0 = Scope.root(), ParamStore()
MESH = jax.make_mesh((8,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
VI = VarInfo
C = lambda id_, thunk, err, match: pytest.param(thunk, err, match, id=id_)
family = lambda prefix, thunk_of, values, err, match: [
    C(f"{prefix}-{i}", thunk_of(v), err, match) for i, v in enumerate(values)]
# The error classes, short: the tables below are one case per line where possible.
TE, NE, IE, ITE = E.ScopeTypeError, E.ScopeNameError, E.InitializerError, E.InitializerTypeError
PE, SE, NF, SM = E.PartitionerError, E.StoreTypeError, E.VariableNotFoundError, E.ShapeMismatchError
DT, VE = E.DtypeMismatchError, E.VariableExistsError

GET_VARIABLE = [
    *family("name", lambda n: gv(n, [2]), [None, 3, b"v", 1.5, ["v"]], TE, "name must be a str"),
    *[C(f"name-{n!r}", gv(n, [2]), NE, m) for n, m in [
        ("", "Variable name ''"), ("_x", "'_x' is not a valid root"), ("a b", "'a b' is not"),
        ("a//b", "'a//b'"), ("a/", "'a/'"), ("/a", "'/a'"), ("é", "'é'")]],
    *family("shape", lambda s: blk(shape=s), ["ab", {"a": 1}, 2.0, [2.0], [-1], -3, True, [True],
            [[2]], Opaque(), np.ones((2, 2), int), jnp.array([2]), {2}, [2, "x"]],
            TE, "shape of variable blk/kern"),
    C("shape-missing", blk(), IE, "blk/kern did not get an initializer"),
    C("shape-unknown-dim", blk(shape=[None, 2]), IE, "blk/kern: The initializer"),
    *family("dtype", lambda d: blk(shape=[2], dtype=d), ["float7", Opaque(), 3, [1], 1.5, True,
            KEY.dtype], TE, "Invalid dtype .* for variable blk/kern"),
    *family("dtype-unholdable", lambda d: blk(shape=[2], dtype=d), [object, str, "U3", "V4", "M8"],
            ITE, "blk/kern has dtype"),
    C("dtype-complex", blk(shape=[2], dtype=jnp.complex64), IE, "blk/kern"),
    C("init-str-and-shape", blk(shape=[2], initializer="z"), IE, "blk/kern got"),
    *family("init-constant", lambda c: blk(initializer=c), ["zeros", {"a": 1}, Opaque()],
            ITE, "blk/kern: Cannot infer a dtype"),
    C("init-constant-huge", blk(initializer=2**70), IE, "blk/kern.*does not fit"),
    C("init-constant-dtype", blk(initializer=np.float32(1), dtype="int32"), IE, "blk/kern: the c"),
    C("init-wrong-shape", blk(shape=[2], initializer=lambda k, s, d: jnp.zeros(3)), IE,
      r"blk/kern: initializer returned shape \(3,\)"),
    C("init-returns-none", blk(shape=[2], initializer=const(None)), IE, "blk/kern: initializer"),
    C("init-arity", blk(shape=[2], initializer=lambda: 1.0), ITE, "blk/kern: Calling initializer"),
    C("init-glorot-int", blk(shape=[2, 2], dtype="int32",
                             initializer=sj.glorot_uniform_initializer()), ITE, "blk/kern"),
    C("init-orthogonal-1d", blk(shape=[2], initializer=sj.orthogonal_initializer()), IE,
      "blk/kern.*two-dimensional"),
    C("init-constant-size", blk(shape=[2, 2], initializer=sj.constant_initializer([1.0, 2, 3])),
      IE, "blk/kern: constant_initializer value has the wrong number"),
    C("init-bad-stddev", blk(shape=[2], initializer=sj.random_normal_initializer(0, "x")), ITE,
      "blk/kern: Calling initializer"),
    *[C(f"{role}-{i}", blk(shape=[2], **{role: f}), TE, f"{role} of variable blk/kern must be")
      for role in ("regularizer", "constraint") for i, f in enumerate(["l2", 1.0, [len]])],
    *family("custom-getter", lambda g: blk(shape=[2], custom_getter=g), ["g", 3, Opaque()],
            E.CustomGetterError, r"not callable.*\(variable blk/kern\)"),
    *family("partitioner", lambda p: part(p), ["p", const("x"), const(None), const([2, 2, 1]),
            const([0, 1]), const([-1, 1]), const([10**9, 1]), const([2, 2])], PE,
            "variable 'blk/kern'"),
    C("partitioner-float-count", part(const([2.0, 1])), TE, "variable 'blk/kern'"),
    C("partitioner-axis", part(sj.fixed_size_partitioner(2, axis=5)), PE, "axis 5"),
    C("partitioner-no-shape", blk(partitioner=sj.fixed_size_partitioner(2), initializer=Z), PE,
      "blk/kern: Shape of a new partitioned"),
    C("partitioner-spec", part(const(PartitionSpec("x", None))), PE, "blk/kern.*needs a mesh"),
    *[C(f"{flag}-{v!r}", blk(shape=[2], **{flag: v}), TE, f"{flag} of variable blk/kern must be")
      for flag in ("trainable", "validate_shape", "use_resource") for v in ["y", 1]],
    *family("collections", lambda c: blk(shape=[2], collections=c), ["c", [1], 3, [None]], TE,
            "collections of variable blk/kern"),
    C("local-collections", lambda: init(lambda: sj.get_local_variable("v", [1], collections=3)),
      TE, "collections of variable v"),
    *family("caching-device", lambda c: blk(shape=[2], caching_device=c),
            [3, Opaque(), b"x", [1], 1.5], TE, "Variable blk/kern: caching_device"),
    *family("caching-device-str", lambda c: blk(shape=[2], caching_device=c),
            ["nonsense", "/gpu:99", "replicated"], E.CachingDeviceError, "Variable blk/kern"),
    C("exists", twice(None, shape=[2]), VE, "blk/kern already exists"),
    C("reuse-missing", in_scope("a", reuse=True), NF, "Variable a/v does"),
    C("reuse-shape", twice(AUTO_REUSE, shape=[3]), SM, "blk/kern"),
    C("reuse-dtype", twice(AUTO_REUSE, dtype=jnp.int32), DT, "blk/kern"),
]

VARIABLE_SCOPE = [
    C("none-none", in_scope(None), TE, "default_name is None"),
    *[C(f"name-{n!r}", in_scope(n), TE, f"name_or_scope .* Got {type(n).__name__}")
      for n in [3, ["a"], {}, b"a", 1.5, True]],
    *[C(f"root-{n!r}", in_scope(n), NE, f"'{n}' is not a valid root") for n in ["_x", "a b", "é"]],
    *[C(f"empty-part-{n!r}", in_scope(n), NE, f"'{n}' at the root") for n in ["a//b", "a/", "/"]],
    C("empty-inside", in_scope("", parent="outer"), NE, "inside scope 'outer'"),
    C("space-inside", in_scope("a b", parent="outer"), NE, "'a b' .* inside scope 'outer'"),
    C("default-int", in_scope(None, 3), TE, "default_name must be a string, got 3"),
    C("default-empty", in_scope(None, ""), NE, "''"),
    C("default-underscore", in_scope(None, "_x"), NE, "'_x'"),
    *[C(f"reuse-{r!r}", in_scope("a", reuse=r), E.ReuseError, f"reuse parameter.*Got {r!r}")
      for r in ["yes", 1, 0, np.True_, 1.0]],
    C("reuse-default-name", in_scope(None, "d", reuse=True), E.ReuseError, "default_name='d'"),
    *family("dtype", lambda d: in_scope("a", dtype=d), ["float7", Opaque(), 3, 1.5], TE,
            "Invalid dtype .* scope 'a'"),
    C("dtype-object", in_scope("a", dtype=object), ITE, "a/v has dtype"),
    C("initializer-str", in_scope("a", initializer="z"), IE, "Variable a/v"),
    C("regularizer-str", in_scope("a", regularizer="l2"), TE, "variable a/v"),
    C("constraint-int", in_scope("a", constraint=1), TE, "variable a/v"),
    C("partitioner-str", in_scope("a", partitioner="p"), PE, "'a/v'"),
    C("custom-getter-str", in_scope("a", custom_getter="g"), E.CustomGetterError, "variable a/v"),
    C("caching-device-int", in_scope("a", caching_device=3), TE, "a/v"),
    C("use-resource-str", in_scope("a", use_resource="x"), TE, "a/v"),
    C("aux-str", in_scope("a", auxiliary_name_scope="x"), TE, "auxiliary_name"),
    C("bad-nesting", lambda: init(bad_nesting), E.ScopeNestingError, "Exiting scope 'a' while"),
    C("enter-twice", lambda: init(enter_twice), E.ScopeNestingError, "already active"),
    C("exit-unentered", lambda: init(lambda: sj.variable_scope("a").__exit__(None, None, None)),
      E.ScopeNestingError, "not entered"),
    *[C(f"outside-{name}", call, E.NoTransformError, f"scopejax.{name} was called outside")
      for name, call in [
          ("variable_scope", lambda: sj.variable_scope("a").__enter__()),
          ("get_variable", lambda: sj.get_variable("v", [1])),
          ("assign", lambda: sj.assign("v", 1)),
          ("get_variable_scope", sj.get_variable_scope), ("next_rng_key", sj.next_rng_key),
          ("get_collection", lambda: sj.get_collection("x")),
          ("add_to_collection", lambda: sj.add_to_collection("x", 1)),
          ("scan", lambda: sj.scan(lambda c, x: (c, x), 0.0, jnp.ones(2))),
          ("cond", lambda: sj.cond(True, lambda: 1.0, lambda: 2.0)),
          ("while_loop", lambda: sj.while_loop(lambda c: c < 2, lambda c: c + 1, 0)),
          ("vmap", lambda: sj.vmap(lambda x: x)(X)), ("remat", lambda: sj.remat(lambda x: x)(X)),
          ("scan_layers", lambda: sj.scan_layers(lambda x: x, X, 2))]],
]

SCOPE_AND_PURE = [
    C("scope-name-int", lambda: Scope(3), TE, "Scope name must be a string"),
    C("root-name-none", lambda: Scope.root(name=None), TE, "Scope name"),
    C("root-reuse", lambda: Scope.root(reuse=1), E.ReuseError, "Got 1"),
    C("root-dtype", lambda: Scope.root(dtype="float7"), TE, "'float7'"),
    *family("child-type", lambda n: lambda: R.child(n), [None, 3, b"a"], NE, "must be strings"),
    *[C(f"child-{n!r}", lambda n=n: R.child(n), NE, n) for n in ["_x", "a b", "a//b", "a/"]],
    C("child-empty-inside", lambda: R.child("a").child(""), NE, "inside scope 'a'"),
    C("child-space-inside", lambda: R.child("a").child("a b"), NE, "scope 'a'"),
    C("child-reuse", lambda: R.child("a", reuse="x"), E.ReuseError, "Got 'x'"),
    C("child-dtype", lambda: R.child("a", dtype="float7"), TE, "scope 'a'"),
    C("reenter-reuse", lambda: R.child("a").reenter(reuse=1), E.ReuseError, "Got 1"),
    C("reenter-dtype", lambda: R.child("a").reenter(dtype=Opaque()), TE, "'a'"),
    *family("pure-store", lambda s: pg(s, R, "w", [2], key=KEY), [None, {}, [1]], SE,
            "pure.get_variable's store"),
    C("pure-name", pg(P0, R, 3, [2]), TE, "name must be a string"),
    C("pure-name-root", pg(P0, R, "_x", [2]), NE, "'_x'"),
    *family("pure-key", lambda k: pg(P0, R, "w", [2], key=k), [0, "k", X, np.uint32(3)], TE,
            "PRNG key"),
    C("pure-key-none", pg(P0, R, "w", [2]), IE, "Variable w: .*needs a PRNG key"),
    C("pure-shape", pg(P0, R, "w", [-1]), TE, "variable w"),
    C("pure-exists", pg(OTHER, R.child("o"), "w", [3, 2]), VE, "o/w already"),
    C("pure-reuse-shape", pg(OTHER, R.child("o", reuse=True), "w", [3]), SM, "o/w"),
    C("pure-reuse-missing", pg(OTHER, R.child("o", reuse=True), "x"), NF, "o/x"),
]

STORE_CASES = [
    *family("from-flat", lambda v: lambda: FLAT(v), [None, [("a", 1.0)], 3], SE,
            "from_flat_dict: expected a mapping"),
    C("from-flat-int-name", lambda: FLAT({1: 1.0}), SE, "names must be str, got 1"),
    *family("from-flat-value", lambda v: lambda: FLAT({"a": v}), [None, "x", Opaque(), {"b": 1},
            [[1], [1, 2]], np.array([1, None], dtype=object)], SE, "'a' is not an array"),
    C("infos-extra", lambda: FLAT({"a": 1.0}, {"b": VI((), "float32")}), NF, r"\['b'\]"),
    C("infos-type", lambda: FLAT({"a": 1.0}, {"a": 3}), SE, r"infos\['a'\] must be a VarInfo"),
    C("infos-shape", lambda: FLAT({"a": 1.0}, {"a": VI((2,), "float32")}), SM, "'a' expected"),
    C("infos-dtype", lambda: FLAT({"a": 1.0}, {"a": VI((), "int32")}), DT, "'a' expected dtype"),
    C("nested-int-key", lambda: NESTED({"a": {1: 1.0}}), SE, "got 1 under 'a/'"),
    C("nested-twice", lambda: NESTED({"a/b": 1.0, "a": {"b": 2.0}}), E.StoreStructureError,
      "'a/b' is given twice"),
    C("nested-str-leaf", lambda: NESTED({"a": {"b": "x"}}), SE, "'a/b'"),
    C("with-exists", lambda: STORE.with_variable("a/w", 1.0), VE, "'a/w'"),
    C("with-value", lambda: STORE.with_variable("z", None), SE, "'z' is not an"),
    C("with-info", lambda: STORE.with_variable("z", 1.0, VI((2,), "float32")), SM, "'z'"),
    *family("getitem", lambda k: lambda: STORE[k], [3, None, "a/x", ("a",), 1.5], NF, "not exist"),
    C("getitem-hint", lambda: STORE["a/x"], NF, "closest existing names: 'a/w'"),
    C("info-missing", lambda: STORE.info("zz"), NF, "'zz'"),
    *family("merge", lambda o: lambda: STORE.merge(o), [None, {"z": 1.0}, [STORE], 3], SE,
            "merge argument 1"),
    C("merge-overlap", lambda: STORE.merge(STORE), VE, "'a/b' already"),
    C("merge-all-list", lambda: ParamStore.merge_all([STORE]), SE, "argument 0"),
    C("replace-int-key", lambda: STORE.replace({3: 1.0}), NF, "Variable 3"),
    C("replace-missing", lambda: STORE.replace({"a/x": 1.0}), NF, "'a/x'"),
    C("replace-shape", lambda: STORE.replace({"a/w": jnp.ones(3)}), SM, "'a/w'"),
    C("replace-rank", lambda: STORE.replace({"a/b": jnp.ones((1, 3))}), SM, "'a/b'"),
    C("replace-dtype", lambda: STORE.replace({"a/w": jnp.ones((2, 3), int)}), DT, "'a/w'"),
    C("replace-float-on-int", lambda: STORE.replace({"n": 1.5}), DT, "'n'"),
    C("replace-value", lambda: STORE.replace({"a/w": "x"}), SE, "'a/w'"),
    C("replace-other-model", lambda: STORE.replace(OTHER), NF, "'o/w'"),
    C("to-nested-conflict", lambda: FLAT({"a": 1.0, "a/b": 2.0}).to_nested_dict(),
      E.StoreStructureError, "'a' is also the scope of variable 'a/b'"),
    C("constraint-shape", lambda: FLAT({"w": X[0]}, {"w": VI((3,), "float32", constraint=len)}
                                      ).apply_constraints(), SM, "constraint of w"),
    *[C(f"partition-info-{i}", lambda a=a: PartitionInfo(*a), err, m) for i, (a, err, m) in
      enumerate([(("ab", 0, (0,), (2,)), TE, "full_shape"), (((4,), 5, (0,), (4,)), PE, "axis 5"),
                 (((4,), 0, (0,), (-4,)), PE, "sizes"), (((4,), 0, (0,), (3,)), PE, "sum to 4")])],
]

TRANSFORM = [
    *family("mesh", lambda m: lambda: sj.transform(dense, mesh=m).init(KEY, X), ["m", 3, [MESH]],
            TE, "mesh must be a jax.sharding.Mesh"),
    *[C(f"{fn}-rng-{i}", lambda fn=fn, k=k: getattr(MODEL, fn)(k, X), TE,
        r"init's first argument \(rng\)") for fn in ("init", "init_with_output")
      for i, k in enumerate([0, True, "k", 1.5, [0, 0], {}, jnp.ones(2), np.zeros(2, np.int32)])],
    C("init-rng-none", lambda: MODEL.init(None, X), IE, "Variable m/w"),
    C("abstract-rng-none", lambda: MODEL.init_abstract(None, X), IE, "m/w"),
    C("abstract-rng-float", lambda: MODEL.init_abstract(jnp.ones(2), X), TE, "rng"),
    *family("apply-params", lambda p: lambda: MODEL.apply(p, X), [None, {"m/w": 1}, [1], 3], SE,
            r"apply's first argument \(params\)"),
    C("apply-nested-dict", lambda: MODEL.apply({"m": {"w": 1}}, X), SE, "from_nested_dict"),
    C("apply-other-model", lambda: MODEL.apply(OTHER, X), NF, "m/w is not in the params.*'o/w'"),
    C("apply-missing", lambda: MODEL.apply(PARAMS.filter(predicate=lambda n, i: n != "m/b"), X),
      NF, "m/b is not in the params"),
    C("apply-empty", lambda: MODEL.apply(P0, X), NF, "m/w"),
    C("apply-shape", lambda: MODEL.apply(FLAT({"m/w": jnp.ones((4, 2)), "m/b": jnp.ones(2)}), X),
      SM, r"m/w has shape \(4, 2\)"),
    C("apply-dtype", lambda: MODEL.apply(jax.tree.map(lambda x: x.astype("bfloat16"), PARAMS), X),
      DT, "m/w has dtype bfloat16"),
    C("apply-input", lambda: MODEL.apply(PARAMS, jnp.ones((1, 4))), SM, "m/w"),
    *family("apply-rng", lambda k: lambda: MODEL.apply(PARAMS, X, rng=k), [0, "k", 1.5, X], TE,
            "apply's rng="),
    *family("apply-mutable", lambda m: lambda: MODEL.apply(PARAMS, X, mutable=m), [3, None, [1],
            [], 1.0, np.True_, 0, Opaque()], TE, "mutable= must be"),
    C("mesh-3-shards", lambda: sj.transform(lambda: sj.get_variable("v", [16, 4],
      partitioner=sj.fixed_size_partitioner(3)), mesh=MESH).init(KEY), E.PlacementError,
      "Variable v is partitioned into 3 shards"),
    C("mesh-huge-shards", lambda: sj.transform(lambda: sj.get_variable("v", [1000, 2],
      partitioner=sj.fixed_size_partitioner(10**6)), mesh=MESH).init_abstract(KEY),
      E.PlacementError, "Variable v .* 1000 shards"),
]

STATE_AND_LIFTS = [
    *family("assign-target", lambda t: in_state(lambda v, n: sj.assign(t, 1.0)), [None, 3, X],
            TE, "assign expects a variable"),
    C("assign-missing", in_state(lambda v, n: sj.assign("zz", 1.0)), NF, "s/zz"),
    C("assign-shape", in_state(lambda v, n: sj.assign(v, jnp.ones(3))), SM, "s/v"),
    C("assign-rank", in_state(lambda v, n: sj.assign(v, jnp.ones((2, 2)))), SM, "s/v"),
    C("assign-dtype", in_state(lambda v, n: sj.assign(n, jnp.float32(1))), DT, "s/n"),
    C("moving-average-debias", in_state(lambda v, n: sj.assign_moving_average(v, v, 0.9, True)),
      E.UnsupportedFeatureError, "zero_debias"),
    C("assign-not-mutable", lambda: sj.transform(lambda: sj.assign_add(
      sj.get_variable("c", [], initializer=Z), 1.0)).apply(FLAT({"c": 0.0})), E.NotMutableError,
      "c"),
    C("next-rng-key-none", in_state(lambda v, n: sj.next_rng_key(), rng=None), E.NoRngError,
      "scope 's'"),
    *[C(f"state-{i}", in_state(lambda v, n, f=f: f()), TE, what) for i, (f, what) in enumerate([
        (lambda: sj.get_collection(3), "get_collection"),
        (lambda: sj.get_collection(None), "get_collection"),
        (lambda: sj.get_collection("variables", scope=3), "scope must be"),
        (lambda: sj.add_to_collection(3, 1.0), "add_to_collection"),
        (lambda: sj.add_to_collections([1], 1.0), "add_to_collection"),
        (lambda: sj.get_regularization_loss(scope=3), "scope must be"),
        (lambda: sj.scan(None, 0.0, X), "scan: f must be callable"),
        (lambda: sj.cond(True, None, lambda: 1.0), "cond: true_fun"),
        (lambda: sj.while_loop(None, lambda c: c, 0), "while_loop: cond_fun"),
        (lambda: sj.while_loop(lambda c: c < 1, "b", 0), "while_loop: body_fun"),
        (lambda: sj.vmap(None), "vmap: fn"), (lambda: sj.remat("f"), "remat: fn"),
        (lambda: sj.vmap(lambda x, y: x, in_axes=(0,))(X, X), "in_axes has 1 entries"),
        (lambda: sj.scan_layers(None, X, 2), "scan_layers: fn")])],
    C("plain-scan-creates", lambda: sj.transform(loop_creates).init(KEY, jnp.ones(2)),
      E.TransformLeakError, "scopejax.scan"),
    *family("scan-layers-n", lambda k: in_state(lambda v, n: sj.scan_layers(lambda x: x, v, k)),
            [0, -1, 2.0, "2", True, None], TE, "num_layers must be an int"),
    *family("scan-layers-format", lambda f: in_state(lambda v, n: sj.scan_layers(
        lambda x: x, v, 2, name_format=f)), ["layer", 3, "l*{}"], TE, "name_format"),
    C("scan-layers-bad-name", in_state(lambda v, n: sj.scan_layers(
      lambda x: x, v, 2, name_format="a b{}")), NE, "'a b0'"),
]

FACTORIES = [
    *[C(f"dtype-{f.__name__}", lambda f=f: f(dtype="float7"), ITE, "'float7'")
      for f in (sj.zeros_initializer, sj.ones_initializer, sj.glorot_uniform_initializer,
                sj.glorot_normal_initializer, sj.random_normal_initializer,
                sj.truncated_normal_initializer, sj.orthogonal_initializer)],
    *family("constant", lambda v: lambda: sj.constant_initializer(v), ["x", {}, None, Opaque(),
            2**70], ITE, "initial value"),
    C("constant-ragged", lambda: sj.constant_initializer([[1], [1, 2]]), IE, "ragged"),
    *[C(f"variance-scaling-{k}-{v!r}", lambda k=k, v=v: sj.variance_scaling_initializer(**{k: v}),
        IE, k) for k, v in [("mode", "x"), ("mode", 3), ("distribution", None), ("scale", -1.0),
                            ("scale", 0.0)]],
    *family("compute-fans", lambda s: lambda: sj.compute_fans(s), [None, "ab", [-1, 2], 3,
            [2.5, 2]], IE, "shape"),
    *[C(f"{f.__name__}-{s!r}", lambda f=f, s=s: f(s), err, f.__name__)
      for f in (sj.l1_regularizer, sj.l2_regularizer, sj.l1_l2_regularizer)
      for s, err in [("x", TE), (None, TE), ([1.0], TE), (-1.0, E.RegularizerError),
                     (1, E.RegularizerError), (True, E.RegularizerError)]],
    *family("sum-regularizer", lambda r: lambda: sj.sum_regularizer(r), [None, 3, ["x"], [1]],
            TE, "sum_regularizer expects"),
    *[C(f"fixed-size-{a!r}", lambda a=a: sj.fixed_size_partitioner(*a), err, "num_shards|axis")
      for a, err in [((0,), PE), ((-1,), PE), ((2.0,), TE), (("2",), TE), ((None,), TE),
                     ((2, "0"), TE)]],
    *[C(f"axis-size-{k}", lambda k=k: sj.variable_axis_size_partitioner(**k), err, m)
      for k, err, m in [({"max_shard_bytes": 0}, PE, "max_shard_bytes is 0"),
                        ({"max_shard_bytes": -1}, PE, "max_shard_bytes is -1"),
                        ({"max_shard_bytes": "x"}, TE, "max_shard_bytes"),
                        ({"max_shard_bytes": 64, "max_shards": "x"}, TE, "max_shards"),
                        ({"max_shard_bytes": 64, "bytes_per_string_element": -1}, PE,
                         "bytes_per_string_element is -1")]],
    *[C(f"min-max-{k}", lambda k=k: sj.min_max_variable_partitioner(**k), err, m)
      for k, err, m in [({"max_partitions": "x"}, TE, "max_partitions"),
                        ({"min_slice_size": 0}, PE, "min_slice_size is 0"),
                        ({"min_slice_size": -1}, PE, "min_slice_size is -1")]],
    C("min-max-axis", part(sj.min_max_variable_partitioner(2, axis=9)), PE, "axis 9"),
    *family("logical-axes", lambda a: lambda: sj.logical_partitioner(a, {}), [None, "ab", 3], TE,
            "axes"),
    C("logical-no-rule", part(sj.logical_partitioner(("a", "b"), {"c": "x"})), PE, "no rule for"),
    C("logical-rank", part(sj.logical_partitioner(("a",), {"a": "x"})), PE, "1 axis names"),
]
ALL_CASES = [*GET_VARIABLE, *VARIABLE_SCOPE, *SCOPE_AND_PURE, *STORE_CASES, *TRANSFORM,
             *STATE_AND_LIFTS, *FACTORIES]
# fmt: on


def assert_documented(error: BaseException) -> None:
    assert isinstance(error, sj.ScopeJaxError), f"not a ScopeJaxError: {error!r}"
    assert isinstance(error, BUILTINS), f"not a documented builtin: {type(error).__mro__}"


@pytest.mark.parametrize(("thunk", "err", "match"), ALL_CASES)
def test_bad_input_raises_documented_error(thunk, err, match):
    with pytest.raises(err, match=match) as info:
        thunk()
    assert_documented(info.value)


# ------------------------------------------------------------- never a half-modified store


class Boom(Exception):
    """A user predicate failing halfway through a store operation."""


def boom_after_first():
    seen = []

    def predicate(name, info):
        seen.append(name)
        if len(seen) > 1:
            raise Boom(name)
        return True

    return predicate


# fmt: off
CONSTRAINED = STORE.with_variable("c", jnp.ones(2), VarInfo((2,), np.float32, constraint=len))
ONE, B3 = FLAT({"q": 1.0}), jnp.ones(3)
FAILING_OPS = {  # each store operation fails after a first valid step
    "replace-missing": (lambda s: s.replace({"a/b": B3, "zz": 1.0}), E.VariableNotFoundError),
    "replace-shape": (lambda s: s.replace({"a/b": B3, "a/w": B3}), E.ShapeMismatchError),
    "replace-dtype": (lambda s: s.replace({"a/b": B3, "n": 1.5}), E.DtypeMismatchError),
    "replace-value": (lambda s: s.replace({"a/b": B3, "a/w": "x"}), E.StoreTypeError),
    "with-exists": (lambda s: s.with_variable("a/w", jnp.ones((2, 3))), E.VariableExistsError),
    "with-info": (lambda s: s.with_variable("z", 1.0, VarInfo((3,), np.float32)),
                  E.ShapeMismatchError),
    "merge-overlap": (lambda s: s.merge(ONE, s), E.VariableExistsError),
    "merge-dict": (lambda s: s.merge(ONE, {"r": 1.0}), E.StoreTypeError),
    "filter-raises": (lambda s: s.filter(predicate=boom_after_first()), Boom),
    "split-raises": (lambda s: s.split(boom_after_first()), Boom),
    "apply-constraints": (lambda s: s.apply_constraints(), E.ShapeMismatchError),  # len: ()
}
# fmt: on


@pytest.mark.parametrize("op", list(FAILING_OPS))
def test_failed_store_operation_leaves_store_unchanged(op):
    fn, err = FAILING_OPS[op]
    store = CONSTRAINED
    names, infos, leaves = store.names(), store.infos(), jax.tree.leaves(store)
    values = {name: np.array(value) for name, value in store.items()}
    with pytest.raises(err):
        fn(store)
    assert store.names() == names and store.infos() == infos
    assert all(a is b for a, b in zip(jax.tree.leaves(store), leaves, strict=True))
    chex.assert_trees_all_equal({name: np.array(v) for name, v in store.items()}, values)
    assert store.replace({"a/b": B3})["a/b"].tolist() == [1.0, 1.0, 1.0]


def test_failed_from_flat_dict_leaves_its_arguments_unchanged():
    a = jnp.ones(2)
    values, infos = {"a": a, "b": "x"}, {"a": VarInfo((2,), np.float32)}
    with pytest.raises(E.StoreTypeError, match="'b'"):
        FLAT(values, infos)
    assert list(values) == ["a", "b"] and values["a"] is a and values["b"] == "x"
    assert infos == {"a": VarInfo((2,), np.float32)}


# ------------------------------------------------- a failed call leaves nothing for the next


# fmt: off
FAILURES = {
    "name": (lambda: sj.variable_scope("a b").__enter__(), E.ScopeNameError),
    "exists": (lambda: sj.get_variable("w", [2]), E.VariableExistsError),
    "dtype": (lambda: sj.variable_scope("x", dtype="float7").__enter__(), E.ScopeTypeError),
    "reuse": (lambda: (sj.get_variable_scope().reuse_variables(), sj.get_variable("new", [1])),
              E.VariableNotFoundError),
    "nesting": (bad_nesting, E.ScopeNestingError),
    "user": (lambda: {}["user code failed"], KeyError),
    "shape": (lambda: sj.get_variable("u", [-2]), E.ScopeTypeError),
}
# fmt: on


def layered(fail=None):
    """Default names, a re-entered scope and AUTO_REUSE around a failure in the middle."""
    total = 0.0
    with sj.variable_scope(None, "dense"):
        total += sj.get_variable("w", [2, 2]).sum()
    with sj.variable_scope("outer") as outer, sj.variable_scope(None, "dense"):
        total += sj.get_variable("w", [2]).sum()
        if fail is not None:
            FAILURES[fail][0]()
    with sj.variable_scope(None, "dense"), sj.variable_scope(outer, reuse=AUTO_REUSE):
        total += sj.get_variable("w", [1]).sum()
    return total


LAYERED = sj.transform(layered)
REFERENCE = LAYERED.init(KEY)


@pytest.mark.parametrize("fail", list(FAILURES))
def test_failed_call_leaves_nothing_behind(fail):
    err = FAILURES[fail][1]
    with pytest.raises(err):
        LAYERED.init(KEY, fail)
    with pytest.raises(sj.NoTransformError):
        sj.get_variable_scope()
    again = LAYERED.init(KEY)
    assert again.names() == REFERENCE.names() == ("dense/w", "outer/dense/w", "outer/w")
    chex.assert_trees_all_equal(again, REFERENCE)
    with pytest.raises(err):
        LAYERED.apply(REFERENCE, fail)
    chex.assert_trees_all_close(LAYERED.apply(REFERENCE), LAYERED.init_with_output(KEY)[0])


# -------------------------------------------------------------------- random garbage arguments

# fmt: off
TEXT = st.text(alphabet="bxz_/. é", max_size=4)  # no "a": np.dtype("a") warns, an error here
# No callables: a callable of the wrong signature is user code failing (reported separately).
GARBAGE = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.floats(width=32), TEXT, st.builds(Opaque),
    st.lists(st.integers(-2, 4), max_size=3), st.dictionaries(TEXT, st.integers(0, 3), max_size=2),
    st.sampled_from(["float7", "object", "U3", "int8", "replicated", b"v", (1,), [None], ["c", 1]]))
NAMES = st.sampled_from(["v", "w_1", "dense/kernel"])
SHAPES = st.sampled_from([[2], [2, 3], (), None])
GET_ARGS = ("dtype", "initializer", "regularizer", "trainable", "collections", "caching_device",
            "partitioner", "validate_shape", "use_resource", "custom_getter", "constraint")
SCOPE_ARGS = ("initializer", "regularizer", "caching_device", "partitioner", "custom_getter",
              "reuse", "dtype", "use_resource", "constraint", "auxiliary_name_scope")
# fmt: on


def outcome(thunk):
    """The scopejax error type a call raises (checked to be documented), or None."""
    try:
        thunk()
    except sj.ScopeJaxError as e:
        assert_documented(e)
        return type(e)
    return None


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    name=st.one_of(NAMES, NAMES, NAMES, GARBAGE),  # mostly valid, to reach the other arguments
    shape=st.one_of(SHAPES, SHAPES, GARBAGE),
    kwargs=st.dictionaries(st.sampled_from(GET_ARGS), GARBAGE, max_size=2),
)
def test_get_variable_garbage_raises_only_scopejax_errors(name, shape, kwargs):
    implicit = outcome(lambda: init(lambda: sj.get_variable(name, shape, **kwargs)))
    explicit = outcome(lambda: pure.get_variable(ParamStore(), R, name, shape, key=KEY, **kwargs))
    assert implicit is explicit  # the pure core and the TF1-style API agree


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    name_or_scope=st.one_of(st.sampled_from(["blk", "x/y", "", None]), GARBAGE),
    default_name=st.one_of(st.sampled_from([None, "d"]), GARBAGE),
    kwargs=st.dictionaries(st.sampled_from(SCOPE_ARGS), GARBAGE, max_size=2),
)
def test_variable_scope_garbage_raises_only_scopejax_errors(name_or_scope, default_name, kwargs):
    def fn():
        with sj.variable_scope(name_or_scope, default_name, **kwargs):
            sj.get_variable("v", [2])

    outcome(lambda: init(fn))
    chex.assert_trees_all_equal(LAYERED.init(KEY), REFERENCE)  # nothing left behind


# ------------------------------------------------------------ found by this suite, now fixed


def _init_of(fn, key=None):
    return sj.transform(fn).init(jax.random.key(0) if key is None else key)


FIXED = [
    ("huge shape", lambda: _init_of(lambda: sj.get_variable("v", [2**62])),
     sj.InitializerError, r"Variable v: shape \(4611686018427387904,\) has"),
    ("huge 2d shape", lambda: _init_of(lambda: sj.get_variable("v", [2**40, 2**40])),
     sj.InitializerError, r"more than any device can hold"),
    ("trailing newline", lambda: _init_of(lambda: sj.get_variable("v\n", [2])),
     sj.ScopeNameError, r"is not a valid root scope name"),
    ("newline scope", lambda: sj.Scope.root().child("a\n"), sj.ScopeNameError, r"a\n"),
    ("ragged constant", lambda: _init_of(lambda: sj.get_variable("v", initializer=[[1], [1, 2]])),
     sj.InitializerError, r"Variable v: the constant initializer is ragged"),
    ("batch of keys", lambda: _init_of(lambda: 1, jax.random.split(jax.random.key(0), 3)),
     sj.ScopeTypeError, r"must be one PRNG key, got an array of shape \(3,\)"),
    ("raw key of 5", lambda: _init_of(lambda: 1, np.zeros(5, np.uint32)),
     sj.ScopeTypeError, r"raw uint32 keys have shape \(2,\)"),
    ("transform(None)", lambda: sj.transform(None), sj.ScopeTypeError, r"transform expects a"),
    ("transform root", lambda: sj.transform(lambda: 1, root="a"), sj.ScopeTypeError,
     r"root must be a scopejax.Scope"),
    ("bad regex", lambda: sj.transform(lambda: sj.get_collection("variables", scope="(")).init(
        None), sj.ScopeNameError, r"scope='\(' is not a valid regular expression"),
    ("add_to_collections(3)", lambda: sj.transform(lambda: sj.add_to_collections(3, 1.0)).init(
        None), sj.ScopeTypeError, r"keys must be a collection key or a list"),
    ("scan over a str", lambda: _init_of(lambda: sj.scan(lambda c, x: (c, x), 0.0, "ab")),
     sj.ScopeTypeError, r"every leaf of xs must be an array with a leading axis"),
    ("scan length -1", lambda: _init_of(lambda: sj.scan(lambda c, x: (c, x), 0.0, None, -1)),
     sj.ScopeTypeError, r"length must be an int >= 0, got -1"),
    ("vmap in_axes str", lambda: _init_of(lambda: sj.vmap(lambda x: x, in_axes="a")(
        jnp.ones(2))), sj.ScopeTypeError, r"in_axes entries must be ints or None, got 'a'"),
    ("vmap missing axis", lambda: _init_of(lambda: sj.vmap(lambda x: x, in_axes=5)(jnp.ones(2))),
     sj.ScopeTypeError, r"argument 0 has no axis 5 to map over"),
    ("scan_layers format", lambda: _init_of(lambda: sj.scan_layers(lambda x: x, 1.0, 2, "l{x}")),
     sj.ScopeTypeError, r"name_format must be a str with a"),
    ("replace(None)", lambda: STORE.replace(None), sj.StoreTypeError, r"replace: expected a"),
    ("filter(3)", lambda: STORE.filter(3), sj.StoreTypeError, r"prefix must be a scope path"),
    ("split('p')", lambda: STORE.split("p"), sj.StoreTypeError, r"predicate must be callable"),
    ("with_variable(3)", lambda: STORE.with_variable(3, 1.0), sj.StoreTypeError,
     r"the name must be a str, got 3"),
    ("with_variable info", lambda: STORE.with_variable("z", 1.0, info=3), sj.StoreTypeError,
     r"info of 'z' must be a VarInfo"),
    ("from_nested_dict(None)", lambda: sj.ParamStore.from_nested_dict(None), sj.StoreTypeError,
     r"expected a nested mapping"),
    ("from_flat_dict infos", lambda: sj.ParamStore.from_flat_dict({"a": 1.0}, infos=3),
     sj.StoreTypeError, r"infos must be a mapping"),
    ("VarInfo str shape", lambda: sj.VarInfo("ab", np.float32), sj.ScopeTypeError,
     r"shape must be a sequence of ints, got 'ab'"),
    ("VarInfo dtype", lambda: sj.VarInfo((2,), "float7"), sj.ScopeTypeError,
     r"invalid dtype 'float7'"),
    ("VarInfo negative", lambda: sj.VarInfo((-1,), np.float32), sj.ScopeTypeError,
     r"non-negative ints, got \(-1,\)"),
    ("VarInfo stacked", lambda: sj.VarInfo((2, 2), np.float32, stacked=5),
     sj.StoreStructureError, r"stacked=5 needs shape\[0\] == 5"),
    ("VarInfo constraint", lambda: sj.VarInfo((2,), np.float32, constraint=3), sj.ScopeTypeError,
     r"constraint must be callable or None, got 3"),
    # Values that are not arrays, given to the state API.
    ("assign a str", lambda: _assigning(lambda v: sj.assign(v, "abc")), sj.ScopeTypeError,
     r"assign: the new value of variable s/v must be an array or a number \(shape \(2,\)"),
    ("assign None", lambda: _assigning(lambda v: sj.assign(v, None)), sj.ScopeTypeError,
     r"assign: the new value of variable s/v .*ValueError: None"),
    ("assign_add a dict", lambda: _assigning(lambda v: sj.assign_add(v, {"a": 1})),
     sj.ScopeTypeError, r"assign_add: the new value of variable s/v must be an array"),
    ("assign_sub an object", lambda: _assigning(lambda v: sj.assign_sub(v, Opaque())),
     sj.ScopeTypeError, r"assign_sub: the new value of variable s/v"),
    ("moving average decay str", lambda: _assigning(
        lambda v: sj.assign_moving_average(v, jnp.ones(2), "x")), sj.ScopeTypeError,
     r"decay must be a real number or a scalar array \(e.g. 0.99\), got str 'x'"),
    ("moving average decay vector", lambda: _assigning(
        lambda v: sj.assign_moving_average(v, jnp.ones(2), jnp.ones(2))), sj.ScopeTypeError,
     r"decay must be a real number or a scalar array"),
    # Initializer arguments checked at construction, not deep inside jax.random.
    ("seed str", lambda: sj.random_normal_initializer(seed="x"), sj.InitializerTypeError,
     r"random_normal_initializer: seed must be an int or None, got str 'x'"),
    ("seed float", lambda: sj.glorot_uniform_initializer(seed=1.5), sj.InitializerTypeError,
     r"seed must be an int or None, got float 1.5"),
    ("seed bool", lambda: sj.truncated_normal_initializer(seed=True), sj.InitializerTypeError,
     r"seed must be an int or None, got bool True"),
    ("scale str", lambda: sj.variance_scaling_initializer(scale="a"), sj.InitializerTypeError,
     r"scale must be a positive float, got str 'a'"),
    # User callables with the wrong signature: named, with the calling convention.
    ("getter arity", lambda: _init_of(lambda: sj.get_variable("v", [2], custom_getter=lambda: 1)),
     sj.ScopeTypeError, r"The custom getter of variable v cannot be called as "
     r"`getter_fn\(getter, name, \*args, \*\*kwargs\)`"),
    ("scope getter arity", lambda: _init_of(lambda: _in_getter_scope(lambda g: 1)),
     sj.ScopeTypeError, r"custom getter of variable a/v cannot be called"),
    ("partitioner arity", lambda: _init_of(lambda: sj.get_variable(
        "v", [4, 2], partitioner=lambda: [2, 1])), sj.ScopeTypeError,
     r"The partitioner of variable v cannot be called as `partitioner\(shape=..., dtype=...\)`"),
    ("regularizer arity", lambda: _applied(lambda: (
        sj.get_variable("v", [2], regularizer=lambda: 1.0), sj.get_regularization_loss())),
     sj.ScopeTypeError, r"The regularizer of variable v cannot be called as `regularizer\(value"),
    ("regularizer result", lambda: _applied(lambda: (
        sj.get_variable("v", [2], regularizer=lambda w: "x"), sj.get_regularization_loss())),
     sj.ScopeTypeError, r"The regularizer of variable v returned str 'x'; a regularizer returns"),
    ("constraint arity", lambda: _init_of(lambda: sj.get_variable(
        "v", [2], constraint=lambda: 1.0)).apply_constraints(), sj.ScopeTypeError,
     r"The constraint of variable v cannot be called as `constraint\(value\)`"),
    ("scan_layers 10**12", lambda: _init_of(lambda: sj.scan_layers(lambda x: x, 1.0, 10**12)),
     sj.ScopeTypeError, r"num_layers=1000000000000 is more than 1048576"),
]  # fmt: skip


def _assigning(body):
    """apply(mutable=True) of a model whose scope `s` holds v: f32[2]; body(v) assigns it."""

    def fn():
        with sj.variable_scope("s"):
            return body(sj.get_variable("v", [2], initializer=sj.zeros_initializer()))

    model = sj.transform(fn)
    return model.apply(ParamStore.from_flat_dict({"s/v": jnp.zeros(2)}), mutable=True)


def _in_getter_scope(getter):
    with sj.variable_scope("a", custom_getter=getter):
        return sj.get_variable("v", [2])


def _applied(fn):
    model = sj.transform(fn)
    return model.apply(model.init(jax.random.key(0)))


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in FIXED],
                         ids=[case[0] for case in FIXED])  # fmt: skip
def test_inputs_fixed_after_fuzzing(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ------------------------------------------- the optional modules: garbage in, documented errors

CK_DIR = st.sampled_from(["", "/nonexistent/ckpt", 3, None, b"x", Opaque()])


def _optional_calls(tmp: str):
    """``(label, thunk-maker)``: each public function of the optional modules, fed garbage."""
    from scopejax import checkpoint as ck
    from scopejax import interop
    from scopejax import tf_checkpoint as tfc

    return [
        ("summary", lambda g: sj.summary(g)),
        ("summary depth", lambda g: sj.summary(STORE, depth=g)),
        ("summary render", lambda g: sj.summary(STORE).render(g)),
        ("save store", lambda g: ck.save(f"{tmp}/a", g, step=1)),
        ("save step", lambda g: ck.save(f"{tmp}/b", STORE, step=g)),
        ("restore dir", lambda g: ck.restore(g)),
        ("restore target", lambda g: ck.restore(f"{tmp}/none", g)),
        ("manager dir", lambda g: ck.CheckpointManager(g, create=False)),
        ("export", lambda g: ck.export_safetensors(g, STORE)),
        ("import", lambda g: ck.import_safetensors(g)),
        ("tf list", lambda g: tfc.list_variables(g)),
        ("tf load", lambda g: tfc.load_checkpoint(g, STORE)),
        ("to flax", lambda g: interop.to_flax_variables(g)),
        ("from flax", lambda g: interop.from_flax_variables(g)),
        ("from haiku", lambda g: interop.from_haiku_params(g)),
        ("trainable mask", lambda g: interop.trainable_mask(STORE, g)),
    ]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_optional_modules_raise_only_documented_errors(tmp_path_factory, data):
    tmp = str(tmp_path_factory.mktemp("garbage"))
    calls = _optional_calls(tmp)
    label, call = data.draw(st.sampled_from(calls), label="function")
    garbage = data.draw(st.one_of(GARBAGE, CK_DIR), label="argument")
    try:
        with contextlib.chdir(tmp):  # garbage that is a valid relative path writes here
            call(garbage)
    except sj.ScopeJaxError as e:
        assert_documented(e)
    except FileNotFoundError as e:  # tf_checkpoint's not-found error is also a ScopeJaxError
        raise AssertionError(f"{label}: bare FileNotFoundError {e}") from e
