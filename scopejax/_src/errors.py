"""The scopejax error hierarchy.

Every error derives from :class:`ScopeJaxError` *and* from the builtin that TF1 (or Python) would
raise, so ``except ValueError`` / ``except TypeError`` keeps working for ported code. Messages keep
TF1's key phrases (users search for them) and add where it happened, expected vs found, and a fix.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any


class ScopeJaxError(Exception):
    """Base class of every error raised by scopejax."""


class VariableExistsError(ScopeJaxError, ValueError):
    """A variable was created twice in a scope that does not reuse."""


class VariableNotFoundError(ScopeJaxError, ValueError, KeyError):
    """A variable was reused (or looked up) but does not exist.

    Also a ``KeyError`` so that ``store[name]`` behaves like a mapping lookup.
    """

    def __str__(self) -> str:  # KeyError would repr() the message.
        return str(self.args[0]) if self.args else ""


class ShapeMismatchError(ScopeJaxError, ValueError):
    """A variable was shared (or applied) with another shape than the one it has."""


class DtypeMismatchError(ScopeJaxError, ValueError):
    """A variable was shared (or applied) with another dtype than the one it has."""


class InitializerError(ScopeJaxError, ValueError):
    """An initializer and the requested shape/dtype do not fit together."""


class InitializerTypeError(ScopeJaxError, TypeError):
    """An initializer cannot produce the requested dtype (TF1 raises TypeError here)."""


class ScopeNameError(ScopeJaxError, ValueError):
    """A scope or variable name is not valid."""


class ReuseError(ScopeJaxError, ValueError):
    """An invalid ``reuse`` argument, or reuse requested where it cannot apply."""


class ScopeTypeError(ScopeJaxError, TypeError):
    """A wrong type was passed where a scope (or scope argument) was expected."""


class ScopeNestingError(ScopeJaxError, RuntimeError):
    """Scopes were exited in another order than they were entered."""


class NoTransformError(ScopeJaxError, RuntimeError):
    """The implicit TF1-style API was used outside a function run by ``scopejax.transform``."""


class StoreTypeError(ScopeJaxError, TypeError):
    """Something that is not a ``ParamStore`` was given where one is expected."""


class UnsupportedFeatureError(ScopeJaxError, ValueError):
    """A TF1 feature that scopejax does not support (yet); the message says what to use instead."""


class NotMutableError(ScopeJaxError, ValueError):
    """``assign`` was called on a variable the current ``apply`` call may not change."""


class NoRngError(ScopeJaxError, ValueError):
    """The model asked for a random key (``next_rng_key``) but the call was given none."""


class TransformLeakError(ScopeJaxError, ValueError):
    """A variable was created (or assigned) inside a plain JAX transform such as ``lax.scan``.

    Inside ``init`` the value would be a tracer of that transform and leak out of it; use the
    lifted versions (``scopejax.scan``, ``cond``, ``while_loop``, ``vmap``, ``remat``).
    """


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Returns a human-readable hint naming the candidates closest to ``name``."""
    candidates = list(candidates)
    if not candidates:
        return "the store is empty"
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not close:
        # Fall back on names that share the longest leading scope path.
        parts = name.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            prefix = "/".join(parts[:depth]) + "/"
            close = [c for c in candidates if c.startswith(prefix)][:n]
            if close:
                break
    if not close:
        return f"no similar name among its {len(candidates)} variables"
    return "closest existing names: " + ", ".join(repr(c) for c in close)


class StoreStructureError(ScopeJaxError, ValueError):
    """A ParamStore cannot be converted to or from a nested dict.

    For example variables ``a`` and ``a/b``: in a nested dict ``a`` would have to be both an array
    and a sub-dict. Use ``to_flat_dict()`` for such stores.
    """


class CustomGetterError(ScopeJaxError, ValueError):
    """A custom getter that cannot be called (TF1 raises ValueError here)."""


class MissingExtraError(ScopeJaxError, ImportError):
    """An optional dependency (a ``pip install scopejax[extra]``) is needed but not installed."""


class RegularizerError(ScopeJaxError, ValueError):
    """A regularizer scale that TF1 rejects: an integer or a negative number (ValueError in TF1)."""


def call_user(fn: Callable[..., Any], role: str, convention: str, /, *args: Any,
              **kwargs: Any) -> Any:  # fmt: skip
    """Calls user code ``fn(*args, **kwargs)`` (a getter, partitioner, regulariser, constraint).

    A ``TypeError`` raised because ``fn`` cannot take these arguments becomes a
    :class:`ScopeTypeError` naming ``role`` (e.g. "custom getter of variable a/w") and the calling
    ``convention``; a ``TypeError`` from inside ``fn``'s body propagates unchanged. The happy
    path costs one call: the signature is only inspected after a ``TypeError``.
    """
    try:
        return fn(*args, **kwargs)
    except ScopeJaxError:
        raise
    except TypeError as e:
        try:
            inspect.signature(fn).bind(*args, **kwargs)
        except TypeError:
            raise ScopeTypeError(
                f"The {role} cannot be called as `{convention}`: {e}. Give it that signature "
                f"(extra parameters need defaults)."
            ) from e
        except ValueError:  # no signature to check (some builtins): cannot tell, keep the error
            pass
        raise


def check_path(value: Any, what: str) -> str:
    """``os.fspath(value)`` for a non-empty ``str`` path, else a :class:`ScopeTypeError`."""
    text = None
    if not isinstance(value, bytes):
        try:
            text = os.fspath(value)
        except TypeError:
            pass
    if not isinstance(text, str) or not text:
        raise ScopeTypeError(
            f"{what}: expected a non-empty path (a str or os.PathLike), got "
            f"{type(value).__name__} {value!r:.60}."
        )
    return text
