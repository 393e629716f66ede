"""The benchmark models, written idiomatically once per framework.

Two model families, each with canonical variable names used to check that every framework builds
the same parameters and computes the same function:

* ``mlp``: ``layers`` x ``width``, ``x = tanh(x @ w + b)``; ``layer{i}/w`` glorot-uniform,
  ``layer{i}/b`` zeros. Input ``(batch, width)``.
* ``tfm``: a pre-LayerNorm transformer of ``layers`` blocks (``D_MODEL``, ``HEADS`` heads,
  ``D_FF`` hidden units, sequence ``SEQ``), 16 variables per block:
  ``block{i}/{ln1,ln2}/{scale,offset}`` and ``block{i}/{q,k,v,o,fc1,fc2}/{w,b}``. Input
  ``(batch, SEQ, D_MODEL)``.

The arithmetic between parameters (:func:`attention`, :func:`layer_norm` for the hand-written
models, GELU) is shared; each framework declares and fetches parameters its own way: a flat dict
or a list (pure JAX), ``variable_scope``/``get_variable`` (scopejax), ``hk.Linear`` and
``hk.LayerNorm`` (Haiku), ``nn.Dense`` and ``nn.LayerNorm`` (Flax linen), ``nnx.Linear`` and
``nnx.LayerNorm`` (Flax NNX).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp
from flax import nnx

import scopejax

D_MODEL, HEADS, D_FF, SEQ = 32, 4, 64, 8
EPS = 1e-6
DENSE = ("q", "k", "v", "o", "fc1", "fc2")
NORMS = ("ln1", "ln2")


@dataclasses.dataclass(frozen=True)
class Spec:
    kind: str  # "mlp" or "tfm"
    layers: int
    width: int = D_MODEL

    @property
    def label(self) -> str:
        return f"mlp {self.layers}x{self.width}" if self.kind == "mlp" else f"tfm {self.layers}"

    @property
    def leaves(self) -> int:
        return 2 * self.layers if self.kind == "mlp" else 16 * self.layers

    def input(self, batch: int) -> jax.Array:
        shape = (batch, self.width) if self.kind == "mlp" else (batch, SEQ, D_MODEL)
        return jax.random.normal(jax.random.key(1), shape, jnp.float32)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Canonical variable name -> shape."""
        out: dict[str, tuple[int, ...]] = {}
        if self.kind == "mlp":
            for i in range(self.layers):
                out[f"layer{i}/w"], out[f"layer{i}/b"] = (self.width, self.width), (self.width,)
            return out
        dims = {"q": (D_MODEL, D_MODEL), "k": (D_MODEL, D_MODEL), "v": (D_MODEL, D_MODEL),
                "o": (D_MODEL, D_MODEL), "fc1": (D_MODEL, D_FF), "fc2": (D_FF, D_MODEL)}
        for i in range(self.layers):
            for ln in NORMS:
                out[f"block{i}/{ln}/scale"] = out[f"block{i}/{ln}/offset"] = (D_MODEL,)
            for d in DENSE:
                out[f"block{i}/{d}/w"], out[f"block{i}/{d}/b"] = dims[d], (dims[d][1],)
        return out


# ------------------------------------------------------------------------------ shared arithmetic


def layer_norm(x: jax.Array, scale: jax.Array, offset: jax.Array) -> jax.Array:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + EPS) * scale + offset


def attention(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
    b, s, d = q.shape
    split = lambda t: t.reshape(b, s, HEADS, d // HEADS)
    logits = jnp.einsum("bshd,bthd->bhst", split(q), split(k)) / math.sqrt(d // HEADS)
    out = jnp.einsum("bhst,bthd->bshd", jax.nn.softmax(logits, axis=-1), split(v))
    return out.reshape(b, s, d)


def block(h: jax.Array, dense: Callable[[jax.Array, str], jax.Array],
          norm: Callable[[jax.Array, str], jax.Array]) -> jax.Array:  # fmt: skip
    y = norm(h, "ln1")
    h = h + dense(attention(dense(y, "q"), dense(y, "k"), dense(y, "v")), "o")
    y = norm(h, "ln2")
    return h + dense(jax.nn.gelu(dense(y, "fc1")), "fc2")


def glorot(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return jax.random.uniform(key, shape, jnp.float32, -limit, limit)


# ------------------------------------------------------------------------ pure JAX: dict and list


def _init_values(key: jax.Array, shapes: dict[str, tuple[int, ...]]) -> list[jax.Array]:
    keys = iter(jax.random.split(key, len(shapes)))
    return [glorot(next(keys), shape) if name.endswith("/w") else
            jnp.ones(shape) if name.endswith("/scale") else jnp.zeros(shape)
            for name, shape in shapes.items()]  # fmt: skip


def jax_dict(spec: Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
    shapes = spec.shapes()

    def init(key: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
        return dict(zip(shapes, _init_values(key, shapes), strict=True))

    if spec.kind == "mlp":

        def apply(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = jnp.tanh(x @ p[f"layer{i}/w"] + p[f"layer{i}/b"])
            return x

    else:

        def dict_block(p: dict[str, jax.Array], prefix: str, x: jax.Array) -> jax.Array:
            dense = lambda y, n: y @ p[f"{prefix}{n}/w"] + p[f"{prefix}{n}/b"]
            norm = lambda y, n: layer_norm(y, p[f"{prefix}{n}/scale"], p[f"{prefix}{n}/offset"])
            return block(x, dense, norm)

        def apply(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = dict_block(p, f"block{i}/", x)
            return x

    return init, apply


def jax_list(spec: Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The same model over a list of arrays in canonical order: the plain-pytree floor."""
    shapes = spec.shapes()

    def init(key: jax.Array, x: jax.Array) -> list[jax.Array]:
        return _init_values(key, shapes)

    if spec.kind == "mlp":

        def apply(p: list[jax.Array], x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = jnp.tanh(x @ p[2 * i] + p[2 * i + 1])
            return x

    else:

        def apply(p: list[jax.Array], x: jax.Array) -> jax.Array:
            it = iter(p)
            for _ in range(spec.layers):
                # Canonical order per block: ln1, ln2 (scale, offset), then q k v o fc1 fc2 (w, b).
                ln = {n: (next(it), next(it)) for n in NORMS}
                dn = {n: (next(it), next(it)) for n in DENSE}
                x = block(x, lambda y, n: y @ dn[n][0] + dn[n][1],  # noqa: B023
                          lambda y, n: layer_norm(y, *ln[n]))  # noqa: B023  # fmt: skip
            return x

    return init, apply


# ------------------------------------------------------------------------------------- scopejax


def _sj_dense(x: jax.Array, units: int, name: str) -> jax.Array:
    with scopejax.variable_scope(name):
        w = scopejax.get_variable("w", [x.shape[-1], units])  # default: glorot uniform
        b = scopejax.get_variable("b", [units], initializer=scopejax.zeros_initializer())
    return x @ w + b


def _sj_norm(x: jax.Array, name: str) -> jax.Array:
    with scopejax.variable_scope(name):
        scale = scopejax.get_variable("scale", [x.shape[-1]],
                                      initializer=scopejax.ones_initializer())  # fmt: skip
        offset = scopejax.get_variable("offset", [x.shape[-1]],
                                       initializer=scopejax.zeros_initializer())  # fmt: skip
    return layer_norm(x, scale, offset)


def scopejax_model(spec: Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
    if spec.kind == "mlp":

        def fn(x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = jnp.tanh(_sj_dense(x, spec.width, f"layer{i}"))
            return x

    else:

        def dense(y: jax.Array, name: str) -> jax.Array:
            return _sj_dense(y, D_FF if name == "fc1" else D_MODEL, name)

        def fn(x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                with scopejax.variable_scope(f"block{i}"):
                    x = block(x, dense, _sj_norm)
            return x

    model = scopejax.transform(fn)
    return model.init, model.apply


# ----------------------------------------------------------------------------------------- Haiku

_HK_GLOROT = hk.initializers.VarianceScaling(1.0, "fan_avg", "uniform")


class _HkBlock(hk.Module):
    def __call__(self, h: jax.Array) -> jax.Array:
        units = {"fc1": D_FF}
        dense = lambda y, n: hk.Linear(units.get(n, D_MODEL), w_init=_HK_GLOROT, name=n)(y)
        norm = lambda y, n: hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, eps=EPS,
                                         name=n)(y)  # fmt: skip
        return block(h, dense, norm)


def haiku_model(spec: Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
    if spec.kind == "mlp":

        def fn(x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = jnp.tanh(hk.Linear(spec.width, w_init=_HK_GLOROT, name=f"layer{i}")(x))
            return x

    else:

        def fn(x: jax.Array) -> jax.Array:
            for i in range(spec.layers):
                x = _HkBlock(name=f"block{i}")(x)
            return x

    model = hk.without_apply_rng(hk.transform(fn))
    return model.init, model.apply


# ------------------------------------------------------------------------------------ Flax linen

_GLOROT = jax.nn.initializers.glorot_uniform()


class _LinenMLP(nn.Module):
    layers: int
    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i in range(self.layers):
            x = jnp.tanh(nn.Dense(self.width, kernel_init=_GLOROT, name=f"layer{i}")(x))
        return x


class _LinenBlock(nn.Module):
    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        units = {"fc1": D_FF}
        dense = lambda y, n: nn.Dense(units.get(n, D_MODEL), kernel_init=_GLOROT, name=n)(y)
        norm = lambda y, n: nn.LayerNorm(epsilon=EPS, name=n)(y)
        return block(h, dense, norm)


class _LinenTransformer(nn.Module):
    layers: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i in range(self.layers):
            x = _LinenBlock(name=f"block{i}")(x)
        return x


def linen_model(spec: Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
    module = (_LinenMLP(spec.layers, spec.width) if spec.kind == "mlp"
              else _LinenTransformer(spec.layers))  # fmt: skip
    return module.init, module.apply


# -------------------------------------------------------------------------------------- Flax NNX


class _NnxMLP(nnx.Module):
    def __init__(self, spec: Spec, rngs: nnx.Rngs) -> None:
        self.layers = nnx.List([nnx.Linear(spec.width, spec.width, kernel_init=_GLOROT, rngs=rngs)
                                for _ in range(spec.layers)])  # fmt: skip

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = jnp.tanh(layer(x))
        return x


class _NnxBlock(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        linear = lambda i, o: nnx.Linear(i, o, kernel_init=_GLOROT, rngs=rngs)
        self.ln1 = nnx.LayerNorm(D_MODEL, epsilon=EPS, rngs=rngs)
        self.q, self.k = linear(D_MODEL, D_MODEL), linear(D_MODEL, D_MODEL)
        self.v, self.o = linear(D_MODEL, D_MODEL), linear(D_MODEL, D_MODEL)
        self.ln2 = nnx.LayerNorm(D_MODEL, epsilon=EPS, rngs=rngs)
        self.fc1, self.fc2 = linear(D_MODEL, D_FF), linear(D_FF, D_MODEL)

    def __call__(self, h: jax.Array) -> jax.Array:
        return block(h, lambda y, n: getattr(self, n)(y), lambda y, n: getattr(self, n)(y))


class _NnxTransformer(nnx.Module):
    def __init__(self, spec: Spec, rngs: nnx.Rngs) -> None:
        self.blocks = nnx.List([_NnxBlock(rngs) for _ in range(spec.layers)])

    def __call__(self, x: jax.Array) -> jax.Array:
        for b in self.blocks:
            x = b(x)
        return x


def nnx_model(spec: Spec) -> Callable[[jax.Array], nnx.Module]:
    """``key -> module``: NNX initialises by constructing the module."""
    cls = _NnxMLP if spec.kind == "mlp" else _NnxTransformer
    return lambda key: cls(spec, nnx.Rngs(key))


# ------------------------------------------------------------------------------ canonical views


def _join(path: tuple[Any, ...]) -> str:
    parts = []
    for k in path:
        k = getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))
        parts.append(str(k))
    return "/".join(parts)


def canonical(framework: str, spec: Spec, params: Any) -> dict[str, jax.Array]:
    """``{canonical name: array}`` of a framework's parameter container."""
    if framework == "jax_list":
        return dict(zip(spec.shapes(), params, strict=True))
    if framework == "scopejax":
        return dict(params.items())
    if framework == "nnx":
        params = nnx.to_pure_dict(params)
    elif framework == "linen":
        params = params["params"]
    flat = {_join(path).replace("/~/", "/"): leaf
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)}  # fmt: skip
    out = {}
    for name, leaf in flat.items():
        parts = name.split("/")
        if framework == "nnx":  # layers/3/kernel, blocks/3/q/kernel
            parts[:2] = [f"{'layer' if spec.kind == 'mlp' else 'block'}{parts[1]}"]
        module, leaf_name = parts[-2], parts[-1]
        if module in NORMS:
            leaf_name = {"bias": "offset"}.get(leaf_name, leaf_name)
        else:
            leaf_name = {"kernel": "w", "bias": "b"}.get(leaf_name, leaf_name)
        out["/".join([*parts[:-1], leaf_name])] = leaf
    return out
