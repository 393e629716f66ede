"""next_rng_key: deterministic, per scope, fed by init's key or apply(rng=)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj

KEY = jax.random.key(0)


def _two_scopes(extra):
    with sj.variable_scope("a"):
        a = jax.random.uniform(sj.next_rng_key(), ())
        a2 = jax.random.uniform(sj.next_rng_key(), ())
    if extra:
        with sj.variable_scope("c"):
            sj.next_rng_key()
    with sj.variable_scope("b"):
        b = jax.random.uniform(sj.next_rng_key(), ())
    return jnp.stack([a, a2, b])


def test_keys_depend_on_scope_and_position_not_on_other_scopes():
    model = sj.transform(_two_scopes)
    params = model.init(KEY, False)
    x = model.apply(params, False, rng=jax.random.key(7))
    y = model.apply(params, True, rng=jax.random.key(7))  # one more draw in scope c
    np.testing.assert_array_equal(x, y)
    assert len(set(np.asarray(x).tolist())) == 3
    np.testing.assert_array_equal(x, jax.jit(model.apply, static_argnums=1)(
        params, False, rng=jax.random.key(7)))  # fmt: skip


def test_init_draws_from_its_own_key_without_touching_variable_values():
    def f():
        v = sj.get_variable("v", [3])
        return v, sj.next_rng_key()

    (_, k), params = sj.transform(f).init_with_output(KEY)
    plain = sj.transform(lambda: sj.get_variable("v", [3])).init(KEY)
    np.testing.assert_array_equal(params["v"], plain["v"])
    assert jax.dtypes.issubdtype(k.dtype, jax.dtypes.prng_key)


def test_missing_key_raises_with_the_fix():
    model = sj.transform(_two_scopes)
    params = model.init(KEY, False)
    with pytest.raises(sj.NoRngError, match=r"next_rng_key\(\) in scope 'a'\) but this call got "
                       r"none. Pass one: model.apply\(params, ..., rng=jax.random.key\(0\)\)"):
        model.apply(params, False)
    with pytest.raises(sj.NoRngError, match="in the root scope"):
        sj.transform(lambda: sj.next_rng_key()).init(None)
    with pytest.raises(TypeError, match=r"apply's rng= got the integer 3"):
        model.apply(params, False, rng=3)


def test_vmapped_apply_over_keys_gives_independent_draws():
    model = sj.transform(_two_scopes)
    params = model.init(KEY, False)
    keys = jax.random.split(jax.random.key(1), 4)
    out = jax.vmap(lambda k: model.apply(params, False, rng=k))(keys)
    assert out.shape == (4, 3) and len(set(np.asarray(out[:, 0]).tolist())) == 4
