"""Scope paths: joining, TF's name validation, and the stable name hash behind per-variable keys."""

from __future__ import annotations

import functools
import hashlib
import re

import jax
import numpy as np

from scopejax._src.errors import ScopeNameError

# TF's op-name regexes (tensorflow/python/framework/ops.py): a root name may not start with "_",
# a name inside a scope may.
_ROOT_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


def join(scope_name: str, name: str) -> str:
    """Joins a scope path and a relative name the way TF does (`"a" + "/" + "b"`)."""
    return f"{scope_name}/{name}" if scope_name else name


def check_scope_name(name: str, parent: str, root_name_scope: bool | None = None) -> None:
    """Validates a scope name given to ``variable_scope`` inside scope ``parent``.

    TF validates the *name scope* it opens: against the root pattern when the current name scope
    is the root (``root_name_scope``, which defaults to ``parent == ""``), else against the
    laxer sub-scope pattern. TF accepts an empty name (or one ending in "/") inside a scope and
    then produces variable names such as ``foo//v``; scopejax refuses those with a clear error.
    """
    check_path(name, parent)
    if name == "" and parent == "":
        return  # variable_scope("") at the root is the root, as in TF.
    check_name_scope(name, parent == "" if root_name_scope is None else root_name_scope, parent)


def check_path(name: str, parent: str) -> None:
    """Rejects non-strings and names that would put an empty component into a variable path."""
    if not isinstance(name, str):
        raise ScopeNameError(f"Scope names must be strings, got {type(name).__name__} {name!r}.")
    if name == "" and parent == "":
        return
    if name == "" or name.endswith("/") or "//" in name:
        where = f"inside scope '{parent}'" if parent else "at the root"
        raise ScopeNameError(
            f"Scope name {name!r} {where} has an empty path component; TF1 would create names like "
            f"'{join(parent, name)}/v' with '//' in them. scopejax rejects this: drop the empty "
            "part or the trailing '/'."
        )


def check_name_scope(name: str, at_root: bool, parent: str) -> None:
    """TF's op-name check of the name scope that a variable scope opens."""
    if at_root:
        if not _ROOT_NAME.fullmatch(name):
            raise ScopeNameError(
                f"'{name}' is not a valid root scope name. A root scope name has to match the "
                f"following pattern: {_ROOT_NAME.pattern}"
            )
    elif not _SCOPE_NAME.fullmatch(name):
        where = f"inside scope '{parent}'" if parent else "here"
        raise ScopeNameError(
            f"'{name}' is not a valid scope name {where}. A scope name has to match the "
            f"following pattern: {_SCOPE_NAME.pattern}"
        )


def check_variable_name(full_name: str, requested: str) -> None:
    """Validates a full variable name (TF checks it as a root name: it resets the name scope)."""
    if not isinstance(requested, str):
        raise ScopeNameError(
            f"Variable names must be strings, got {type(requested).__name__} {requested!r}."
        )
    if requested == "" or requested.endswith("/") or "//" in full_name:
        raise ScopeNameError(
            f"Variable name {requested!r} would give the variable the name {full_name!r} with an "
            "empty path component (TF1 names such a variable 'VariableV2' or 'foo//v'). "
            "Give the variable a non-empty name."
        )
    if not _ROOT_NAME.fullmatch(full_name):
        raise ScopeNameError(
            f"'{full_name}' is not a valid root scope name. A root scope name has to match the "
            f"following pattern: {_ROOT_NAME.pattern}"
        )


@functools.lru_cache(maxsize=1 << 16)
def name_hash(name: str) -> tuple[np.uint32, np.uint32]:
    """A stable 64-bit hash of a full variable name, as two uint32 words.

    blake2b over the UTF-8 bytes of the whole name: identical across processes, runs and Python
    versions (unlike ``hash()``), and since it hashes the joined path itself, ``("ab", "c")`` and
    ``("a", "bc")`` give ``"ab/c"`` and ``"a/bc"`` -- different names, different keys.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=b"scopejax").digest()
    return (
        np.uint32(int.from_bytes(digest[:4], "little")),
        np.uint32(int.from_bytes(digest[4:], "little")),
    )


@functools.lru_cache(maxsize=1 << 16)
def _hash_words(name: str) -> np.ndarray:
    """``name_hash(name)`` as one read-only ``uint32[2]`` array: one argument to pass, not two."""
    words = np.array(name_hash(name), np.uint32)
    words.flags.writeable = False
    return words


@jax.jit
def _fold_pair(key: jax.Array, words: jax.Array) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(key, words[0]), words[1])


def key_from_hash(root_key: jax.Array, hash_words: jax.Array) -> jax.Array:
    """:func:`variable_key` from a precomputed (possibly traced) ``name_hash`` pair."""
    return _fold_pair(root_key, hash_words)


def variable_key(root_key: jax.Array, full_name: str) -> jax.Array:
    """The PRNG key of variable ``full_name``: a function of the root key and the name only.

    One jitted call taking the two hash words as one array (eagerly one dispatch instead of two:
    benchmarks/bench_core.py measured init_eager at 2.1x pure JAX with two plain fold_ins; under
    a trace one array argument costs ~35% less than two scalars).
    """
    return _fold_pair(root_key, _hash_words(full_name))
