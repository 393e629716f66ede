"""Which checkpoint tensor feeds which model variable: ``assignment_map`` rules and the report.

Rules follow ``tf.compat.v1.train.init_from_checkpoint``: keys name the checkpoint side, values
the model side.

* ``"old/w": "new/w"`` -- one tensor into one variable;
* ``"old_scope/": "new_scope/"`` -- every tensor under a scope, the rest of the name kept;
  ``"/"`` (or ``""``) is the root scope on either side, so ``{"/": "tower_0/"}`` loads a whole
  checkpoint one scope down;
* ``re.compile(r"(.*)/\\.ATTRIBUTES/VARIABLE_VALUE"): r"\\1"`` -- a regular expression that must
  match the whole checkpoint name; the value is its ``match.expand`` template.

Every rule is tried on every tensor, so one tensor may feed several variables; two different
tensors for one variable are an error. Without a map, names must match exactly.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scopejax._src.errors import closest_names
from scopejax._src.tf_errors import AssignmentMapError

AssignmentMap = Mapping[Any, str] | Iterable[tuple[Any, str]]
_LIMIT = 10


@dataclasses.dataclass(frozen=True)
class _Rule:
    kind: str  # "exact", "scope" or "regex"
    source: Any  # checkpoint name, scope prefix ("" for the root) or compiled pattern
    target: str  # model name, scope prefix or expand template

    def apply(self, name: str) -> str | None:
        if self.kind == "exact":
            return self.target if name == self.source else None
        if self.kind == "scope":
            return self.target + name[len(self.source):] if name.startswith(self.source) else None
        match = self.source.fullmatch(name)
        return None if match is None else match.expand(self.target)

    def __str__(self) -> str:
        source = self.source.pattern if self.kind == "regex" else self.source or "/"
        return f"{source!r} -> {self.target or '/'!r}"


def _scope(side: str) -> str:
    return "" if side == "/" else side


def compile_map(assignment_map: AssignmentMap | None) -> list[_Rule] | None:
    """Validates ``assignment_map`` (a mapping or ``(key, value)`` pairs); None: exact names."""
    if assignment_map is None:
        return None
    if isinstance(assignment_map, str | bytes):
        raise AssignmentMapError(
            f"assignment_map must be a dict such as {{'old_scope/': 'new_scope/'}}, got the "
            f"string {assignment_map!r}.")
    pairs = assignment_map.items() if isinstance(assignment_map, Mapping) else assignment_map
    rules = []
    try:
        pairs = list(pairs)
    except TypeError:
        raise AssignmentMapError(
            "assignment_map must be a dict {checkpoint name or scope: model name or scope} or a "
            f"list of such pairs, got {type(assignment_map).__name__}.") from None
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise AssignmentMapError(f"assignment_map: expected (key, value) pairs, got {pair!r}.")
        key, value = pair
        if not isinstance(value, str):
            raise AssignmentMapError(
                f"assignment_map[{key!r}]: the value must be a model variable name or scope "
                f"(a str), got {type(value).__name__} {value!r}.")
        if isinstance(key, re.Pattern):
            if not isinstance(key.pattern, str):
                raise AssignmentMapError(f"assignment_map: pattern {key.pattern!r} must be a str "
                                         "pattern, not bytes.")
            rules.append(_Rule("regex", key, value))
        elif not isinstance(key, str):
            raise AssignmentMapError(
                f"assignment_map: keys must be checkpoint names, scopes ending in '/', or "
                f"re.compile(...) patterns; got {type(key).__name__} {key!r}.")
        elif key in ("", "/") or key.endswith("/"):
            if not (value in ("", "/") or value.endswith("/")):
                raise AssignmentMapError(
                    f"assignment_map[{key!r}] = {value!r}: a checkpoint scope must map to a model "
                    f"scope; end the value with '/' ({value + '/'!r}).")
            rules.append(_Rule("scope", _scope(key), _scope(value)))
        else:
            if value in ("", "/") or value.endswith("/"):
                raise AssignmentMapError(
                    f"assignment_map[{key!r}] = {value!r}: a checkpoint tensor name maps to one "
                    f"model variable; for a whole scope end the key with '/' too ({key + '/'!r}).")
            rules.append(_Rule("exact", key, value))
    return rules


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a non-strict ``load_checkpoint`` did.

    Attributes:
      loaded: ``{model variable: checkpoint tensor}`` for every variable given a value.
      missing: model variables that got no value (they keep the target's leaf).
      unused: checkpoint tensors loaded into no variable.
      unmatched_rules: ``assignment_map`` rules that matched no checkpoint tensor, as text.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax._src.tf_checkpoint import load_checkpoint
    >>> from scopejax._src.tf_writer import example_checkpoint
    >>> def model(x):
    ...     with scopejax.variable_scope("dense"):
    ...         x = x @ scopejax.get_variable("kernel", [3, 2])
    ...     return x * scopejax.get_variable("scale", [])
    >>> target = scopejax.transform(model).init_abstract(jax.random.key(0), jnp.ones((1, 3)))
    >>> params, report = load_checkpoint(example_checkpoint(), target, strict=False)
    >>> dict(report.loaded), report.missing, report.unused
    ({'dense/kernel': 'dense/kernel'}, ('scale',), ('dense/bias', 'global_step'))
    """

    loaded: Mapping[str, str]
    missing: tuple[str, ...]
    unused: tuple[str, ...]
    unmatched_rules: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Every variable got a value, every tensor was used and every rule matched."""
        return not (self.missing or self.unused or self.unmatched_rules)

    def describe(self, checkpoint_names: Iterable[str] = (), model_names: Iterable[str] = ()
                 ) -> str:  # fmt: skip
        """Multi-line text; with the names of both sides it suggests close matches."""
        checkpoint_names, model_names = list(checkpoint_names), list(model_names)
        lines = [f"{len(self.loaded)} variable(s) loaded"]
        for title, names, others in (
                ("model variable(s) got no value", self.missing, checkpoint_names),
                ("checkpoint tensor(s) were not used", self.unused, model_names)):  # fmt: skip
            if names:
                shown = [repr(n) + (f" ({closest_names(n, others)})" if others else "")
                         for n in names[:_LIMIT]]
                more = f", ... and {len(names) - _LIMIT} more" if len(names) > _LIMIT else ""
                lines.append(f"{len(names)} {title}: " + ", ".join(shown) + more)
        if self.unmatched_rules:
            lines.append("assignment_map rule(s) that matched no checkpoint tensor: "
                         + ", ".join(self.unmatched_rules))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def plan(checkpoint_names: Iterable[str], model_names: Iterable[str],
         rules: list[_Rule] | None) -> LoadReport:  # fmt: skip
    """Pairs model variables with checkpoint tensors under ``rules``."""
    model = set(model_names)
    sources: dict[str, str] = {}
    unused: list[str] = []
    hits = [0] * len(rules or ())
    for name in sorted(checkpoint_names):
        if rules is None:
            targets = [name]
        else:
            targets = []
            for i, rule in enumerate(rules):
                target = rule.apply(name)
                if target is not None:
                    hits[i] += 1
                    targets.append(target)
        placed = False
        for target in dict.fromkeys(targets):
            if target not in model:
                continue
            placed = True
            if sources.setdefault(target, name) != name:
                raise AssignmentMapError(
                    f"assignment_map gives model variable {target!r} two checkpoint tensors, "
                    f"{sources[target]!r} and {name!r}. Make the rules select one (an exact "
                    "rule, or a narrower scope or pattern).")
        if not placed:
            unused.append(name)
    unmatched = tuple(str(r) for r, n in zip(rules or (), hits, strict=True) if not n)
    return LoadReport(loaded=dict(sorted(sources.items())),
                      missing=tuple(sorted(model - sources.keys())), unused=tuple(unused),
                      unmatched_rules=unmatched)


__all__ = ["AssignmentMap", "LoadReport", "compile_map", "plan"]
