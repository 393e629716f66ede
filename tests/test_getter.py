"""get_variable's creation rules: shapes, dtypes, initializers, collections (rules 17-19, 26)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj
from scopejax import get_variable, variable_scope

KEY = jax.random.key(0)


def init(fn):
    return sj.transform(fn).init(KEY)


def test_default_float_initializer_is_glorot_uniform_with_tf_fans():
    p = init(lambda: [get_variable("m", [200, 300]), get_variable("c", [3, 3, 64, 128]),
                      get_variable("s", []), get_variable("vec", [1000])])  # fmt: skip
    for name, fan_in, fan_out in [("m", 200, 300), ("c", 9 * 64, 9 * 128), ("s", 1, 1),
                                  ("vec", 1000, 1000)]:  # fmt: skip
        limit = np.sqrt(6 / (fan_in + fan_out))
        x = np.asarray(p[name])
        assert np.abs(x).max() <= limit
        if x.size > 1000:
            assert np.abs(x).max() > 0.98 * limit


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "int8"])
def test_default_initializer_for_ints_and_bools_is_zeros(dtype):
    p = init(lambda: get_variable("v", [3], dtype=dtype))
    assert p["v"].dtype == dtype and not np.asarray(p["v"]).any()


def test_complex_needs_an_initializer():
    with pytest.raises(ValueError, match=r"An initializer for variable c of <dtype: 'complex64'> "
                       r"is required"):
        init(lambda: get_variable("c", [2], dtype=jnp.complex64))


def test_constant_initializers_decide_shape_and_dtype():
    def f():
        get_variable("i", initializer=4)
        get_variable("f", initializer=4.0)
        get_variable("l", initializer=[1, 2, 3])
        get_variable("a", initializer=np.arange(6, dtype=np.int16).reshape(2, 3))
        with variable_scope("h", dtype=jnp.float16):
            get_variable("t", initializer=jnp.ones(2, jnp.int32))
    p = init(f)
    got = {n: (p.info(n).shape, p.info(n).dtype.name) for n in p.names()}
    assert got == {"i": ((), "int32"), "f": ((), "float32"), "l": ((3,), "int32"),
                   "a": ((2, 3), "int16"), "h/t": ((2,), "int32")}  # fmt: skip
    np.testing.assert_array_equal(p["l"], [1, 2, 3])


def test_constant_initializer_with_shape_is_an_error():
    for shape in ([2], []):
        with pytest.raises(ValueError, match="If initializer is a constant, do not specify shape"):
            init(lambda shape=shape: get_variable("v", shape, initializer=np.ones(2)))


@pytest.mark.parametrize("value, dtype, init_dtype", [(4, "float32", "int32"),
                         (4.0, jnp.float16, "float32"),
                         ([1, 2, 3], jnp.int8, "int32")])  # fmt: skip
def test_explicit_dtype_must_match_a_constant(value, dtype, init_dtype):
    with pytest.raises(ValueError, match=rf"Initializer type '{init_dtype}' and explicit dtype "
                       r"'\w+' don't match"):
        init(lambda: get_variable("v", initializer=value, dtype=dtype))


def test_scope_constant_initializer_skips_the_dtype_check():
    # TF checks only a get-level constant against an explicit dtype; the value's dtype wins.
    def f():
        with variable_scope("s", initializer=np.float32(1.5)):
            get_variable("v", dtype="int32")
    p = init(f)
    assert p["s/v"].dtype == np.float32


def test_callable_initializers():
    def f():
        get_variable("noarg", initializer=lambda: [2])
        get_variable("tf_style", [2], initializer=lambda shape, dtype=None, partition_info=None:
                     np.full(shape, 7))  # fmt: skip
        get_variable("jax_style", [4, 4], initializer=jax.nn.initializers.lecun_normal())
        get_variable("ours", [2], initializer=sj.constant_initializer(3.0))
    p = init(f)
    assert p.info("noarg").shape == (1,) and p["noarg"].dtype == np.int32
    np.testing.assert_array_equal(p["tf_style"], [7.0, 7.0])
    assert p["tf_style"].dtype == np.float32
    assert p.info("jax_style").shape == (4, 4)
    np.testing.assert_array_equal(p["ours"], [3.0, 3.0])


def test_shape_errors():
    with pytest.raises(ValueError, match=r"Variable v did not get an initializer, so its `shape` "
                       r"argument must be specified"):
        init(lambda: get_variable("v"))
    with pytest.raises(ValueError, match=r"Variable v: The initializer passed is not valid. It "
                       r"should be a callable with no arguments and the shape should not be "
                       r"provided"):
        init(lambda: get_variable("v", initializer=sj.zeros_initializer()))
    with pytest.raises(ValueError, match="The initializer passed is not valid"):
        init(lambda: get_variable("v", [None, 3]))  # TF: partial shapes get the default, then fail
    with pytest.raises(TypeError, match=r"shape of variable v must hold non-negative ints"):
        init(lambda: get_variable("v", [2, -1]))
    with pytest.raises(TypeError, match=r"shape of variable v must hold non-negative ints"):
        init(lambda: get_variable("v", [2.0]))
    with pytest.raises(TypeError, match=r"shape of variable v must be a sequence of ints"):
        init(lambda: get_variable("v", "3"))
    assert init(lambda: get_variable("v", 3)).info("v").shape == (3,)


def test_zero_arg_initializer_given_a_shape():
    with pytest.raises(TypeError, match="Variable v"):
        init(lambda: get_variable("v", [2], initializer=lambda: 1.0))


def test_scope_initializer_applies_to_every_dtype():
    def f():
        with variable_scope("s", initializer=sj.constant_initializer(1.0)):
            get_variable("i", [2], dtype="int32")
    with pytest.raises(TypeError, match=r"Variable s/i: .*Expected int32, but got 1.0 of type "
                       r"'float'"):
        init(f)


def test_invalid_dtype_and_flags():
    with pytest.raises(TypeError, match=r"Invalid dtype 'foo' for variable v"):
        init(lambda: get_variable("v", [1], dtype="foo"))
    with pytest.raises(TypeError, match=r"trainable of variable v must be a bool"):
        init(lambda: get_variable("v", [1], trainable="yes"))
    with pytest.raises(TypeError, match=r"get_variable name must be a string, got int 3"):
        init(lambda: get_variable(3, [1]))


def test_random_initializer_without_a_key():
    model = sj.transform(lambda: get_variable("v", [2]))
    with pytest.raises(ValueError, match=r"Variable v: .*PRNG key"):
        model.init(None)
    p = sj.transform(lambda: get_variable("z", [2], initializer=sj.zeros_initializer())).init(None)
    np.testing.assert_array_equal(p["z"], [0.0, 0.0])


def test_collections_and_trainable():
    def f():
        get_variable("a", [1])
        get_variable("b", [1], trainable=False)
        get_variable("c", [1], collections=[])
        get_variable("d", [1], collections=["local_variables"])
        get_variable("e", [1], collections=["mine", "variables"], trainable=False)
    p = init(f)
    assert p.info("a").collections == ("variables", "trainable_variables")
    assert p.info("b").collections == ("variables",) and not p.info("b").trainable
    assert p.info("c").collections == ("trainable_variables",)
    assert p.info("d").collections == ("local_variables", "trainable_variables")
    assert p.info("d").trainable
    assert p.info("e").collections == ("mine", "variables")
    with pytest.raises(TypeError, match="collections of variable x must be a list"):
        init(lambda: get_variable("x", [1], collections="variables"))


def test_partitioner_makes_one_logical_variable_and_scalars_ignore_it():
    part = lambda shape, dtype: [2] + [1] * (len(shape) - 1)
    store = init(lambda: get_variable("v", [5, 2], partitioner=part))
    info = store.info("v")
    assert store.names() == ("v",) and info.shape == (5, 2)
    assert info.partition.part_names("v") == ["v/part_0", "v/part_1"]
    assert info.partition.sizes == (3, 2)
    assert init(lambda: get_variable("s", [], partitioner=part)).info("s").partition is None
    with pytest.raises(ValueError, match="Partitioner must be callable, but received: 3"):
        init(lambda: get_variable("v", [4, 2], partitioner=3))


def test_custom_getters_compose_like_tf():
    def suffix(s):
        def getter(getter, name, *args, **kwargs):
            return getter(name + s, *args, **kwargs)
        return getter

    def f():
        with variable_scope("o", custom_getter=suffix("_o")):
            with variable_scope("m", custom_getter=suffix("_m")):
                with variable_scope("i", custom_getter=suffix("_i")):
                    get_variable("v", [1])
                    get_variable("w", [1], custom_getter=suffix("_g"))  # replaces the scope's
    assert init(f).names() == ("o/m/i/v_i_m_o", "o/m/i/w_g")


def test_custom_getter_sees_resolved_arguments():
    seen = {}

    def spy(getter, name, *args, **kwargs):
        seen.update(kwargs, name=name)
        return getter(name, *args, **kwargs)

    def f():
        with variable_scope("s", custom_getter=spy, reuse=sj.AUTO_REUSE, dtype=jnp.float16):
            get_variable("v", [2])
    init(f)
    assert seen["name"] == "s/v" and seen["reuse"] is sj.AUTO_REUSE
    assert seen["dtype"] == np.float16 and seen["shape"] == [2]


def test_non_callable_custom_getter_fails_at_get_variable():
    def f():
        with variable_scope("s", custom_getter=3):
            get_variable("v", [1])
    with pytest.raises(ValueError, match=r"Passed a custom_getter which is not callable: 3"):
        init(f)


def test_non_callable_regularizer_or_constraint():
    with pytest.raises(TypeError, match=r"The regularizer of variable v must be a callable"):
        init(lambda: get_variable("v", [1], regularizer=0.1))

    def f():
        with variable_scope("s", constraint="clip"):
            get_variable("v", [1])
    with pytest.raises(TypeError, match=r"The constraint of variable s/v must be a callable"):
        init(f)


def test_bad_constants_and_collection_keys_name_the_variable():
    with pytest.raises(TypeError, match=r"Variable v: Cannot infer a dtype from <object"):
        init(lambda: get_variable("v", initializer=object()))
    with pytest.raises(TypeError, match=r"collections of variable v must hold string keys.*\[1\]"):
        init(lambda: get_variable("v", [1], collections=[1]))
