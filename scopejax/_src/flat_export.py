"""Flat export/import of a ``ParamStore`` as one ``safetensors`` file keyed by TF variable names.

For exchange with other ecosystems (PyTorch, Hugging Face, TF converters) on a single host: every
variable is written whole at its logical shape (no padding), under its TF name
(``"encoder/dense/kernel"``). The ``VarInfo`` fields that can be serialised travel in the file's
text metadata under the key ``"scopejax"``, which other readers ignore.

The file is written to a temporary name in the same directory and renamed into place, so a crash
leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.flax import save_file

from scopejax._src.checkpoint_format import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotFoundError,
    LeafSpec,
    check_match,
    dumps,
    store_leaves,
    varinfo_from_json,
    varinfo_to_json,
)
from scopejax._src.errors import check_path
from scopejax._src.store import ParamStore, ensure_store

_META_KEY = "scopejax"


def export_safetensors(path: str | os.PathLike[str], store: ParamStore) -> None:
    """Writes every variable of ``store`` at its logical shape to the safetensors file ``path``.

    Single-host: each variable is gathered to this process (a ``CheckpointError`` names any that
    spans devices of other processes; use :func:`scopejax.checkpoint.save` there).

    >>> import os, tempfile, jax.numpy as jnp, scopejax as sj
    >>> from scopejax.checkpoint import export_safetensors, import_safetensors
    >>> store = sj.ParamStore.from_flat_dict({"dense/kernel": jnp.ones((2, 3))})
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> export_safetensors(path, store)
    >>> import_safetensors(path)
    ParamStore(1 variable: 'dense/kernel': float32[2,3])

    TF1 equivalent: exporting ``{v.op.name: sess.run(v)}`` for ``tf.global_variables()``.
    """
    store = ensure_store(store, "export_safetensors: store")
    for name, stored in zip(store.names(), jax.tree.leaves(store), strict=True):
        if not isinstance(stored, jax.Array):
            raise CheckpointError(f"export_safetensors: variable {name!r} is a "
                                  f"{type(stored).__name__}, not a concrete jax.Array.")
        if not stored.is_fully_addressable:
            raise CheckpointError(
                f"export_safetensors: variable {name!r} spans devices of other processes; a "
                "flat file needs every variable whole on one host. Use "
                "scopejax.checkpoint.save for multi-host runs.")
    tensors = store.to_flat_dict()  # logical views: the padding is not exported
    variables = {name: varinfo_to_json(info) for name, info in store.infos().items()}
    target = Path(os.path.abspath(check_path(path, "export_safetensors")))
    if target.is_dir():
        raise CheckpointError(f"export_safetensors: {target} is a directory; give a file name "
                              "such as model.safetensors.")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_META_KEY: dumps({"variables": variables})})
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def import_safetensors(path: str | os.PathLike[str],
                       target: ParamStore | None = None) -> ParamStore:  # fmt: skip
    """Reads a safetensors file written by :func:`export_safetensors` (or any flat one).

    >>> import os, tempfile, jax.numpy as jnp
    >>> from scopejax import ParamStore
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> export_safetensors(path, ParamStore.from_flat_dict({"enc/w": jnp.eye(2)}))
    >>> import_safetensors(path)["enc/w"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]

    Args:
      path: the file.
      target: a store (or abstract store) of the model: names, shapes and dtypes are checked,
        values are placed in its shardings (padded where it pads) and its ``VarInfo``s kept.
        Without it, the file's metadata gives the ``VarInfo``s (defaults for a foreign file).

    Raises:
      CheckpointNotFoundError: no such file.
      CheckpointCorruptError: the file is truncated or not safetensors.
      CheckpointMismatchError: names, shapes or dtypes differ from ``target``'s (all listed).
    """
    source = Path(os.path.abspath(check_path(path, "import_safetensors")))
    if not source.is_file():
        raise CheckpointNotFoundError(f"import_safetensors: no file at {source}.")
    try:
        with safe_open(source, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointCorruptError(
            f"import_safetensors: {source} is truncated or not a safetensors file "
            f"({type(e).__name__}: {e}).") from e
    variables = {}
    if _META_KEY in meta:
        try:
            variables = json.loads(meta[_META_KEY])["variables"]
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointCorruptError(
                f"import_safetensors: the scopejax metadata of {source} is corrupted.") from e
    saved = {k: {"shape": a.shape, "dtype": a.dtype.name} for k, a in arrays.items()}
    if target is None:
        infos = {k: varinfo_from_json(variables[k]) for k in arrays if k in variables}
        return ParamStore.from_flat_dict({k: jnp.asarray(a) for k, a in arrays.items()}, infos)
    target = ensure_store(target, "import_safetensors(target=...)")
    pairs = store_leaves(target)
    check_match(f"import_safetensors of {source}", "variables", saved,
                [s for s, _ in pairs])
    return jax.tree.unflatten(jax.tree.structure(target),
                              [_place(arrays[s.key], s, leaf, target) for s, leaf in pairs])


def _place(array: np.ndarray, spec: LeafSpec, leaf: Any, target: ParamStore) -> Any:
    """``array`` (logical) padded to the target's stored shape and put in its sharding."""
    info = target.info(spec.key)
    value = np.asarray(array)
    if info.physical_shape is not None:
        widths = [(0, p - s) for p, s in zip(info.physical_shape, info.shape, strict=True)]
        value = np.pad(value, widths)
    sharding = getattr(leaf, "sharding", None)
    return jax.device_put(value, sharding) if sharding is not None else jnp.asarray(value)


__all__ = ["export_safetensors", "import_safetensors"]
