"""The documentation in docs/ runs: migration pairs, troubleshooting snippets, the API reference.

* docs/migration.md: every ```` ```python tf1 ```` block is followed by a
  ```` ```python scopejax ```` block. The TF1 block runs under real ``tf.compat.v1`` (graph
  mode, a fresh graph); the scopejax block runs right after it in the same temporary working
  directory and must leave a ``ParamStore`` named ``params``. Both must create the same
  variables: TF1's global and local variables against the store's, compared as
  ``(name, shape, trainable)`` with a partitioned variable counted as its TF shards
  ``v/part_i``. ```` ```python check ```` blocks (the known differences) run on their own.
  Each block's ``assert``s are part of the test.
* docs/troubleshooting.md: one ``## `ErrorClass` `` section per error class reachable from the
  public API; each section's ```` ```python ```` snippet must raise exactly that class.
* docs/api.md must equal what ``scripts/gen_api_docs.py`` writes now.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import linecache
import re
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scopejax as sj

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TF_REASON = ("the TF1 side of docs/migration.md runs under tf.compat.v1 "
             "(pip install 'scopejax[tf]')")
PUBLIC_SUBMODULES = ("checkpoint", "tf_checkpoint", "interop", "layers", "pure")

_FENCE = re.compile(r"^```python(?: (?P<tag>\w+))?\n(?P<code>.*?)^```$", re.M | re.S)
_HEADING = re.compile(r"^(?P<level>#{2,3}) (?P<title>.+)$", re.M)


def blocks(path: Path) -> list[tuple[str, str | None, str, int]]:
    """``(heading, tag, code, line)`` of every ```` ```python ```` block of ``path``, in order;
    ``heading`` is the nearest ``##``/``###`` heading above the block."""
    text = path.read_text()
    headings = [(m.start(), m.group("title").strip()) for m in _HEADING.finditer(text)]
    out = []
    for m in _FENCE.finditer(text):
        heading = next((t for pos, t in reversed(headings) if pos < m.start()), "")
        out.append((heading, m.group("tag"), m.group("code"), text.count("\n", 0, m.start()) + 1))
    return out


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def migration_pairs() -> list[Any]:
    found = blocks(DOCS / "migration.md")
    pairs = []
    for i, (heading, tag, code, line) in enumerate(found):
        if tag == "tf1":
            nxt = found[i + 1] if i + 1 < len(found) else None
            assert nxt is not None and nxt[1] == "scopejax", (
                f"docs/migration.md:{line}: a `python tf1` block must be followed by a "
                f"`python scopejax` block")
            pairs.append(pytest.param(code, nxt[2], line, id=f"L{line}-{_slug(heading)}"))
        elif tag == "scopejax":
            assert i > 0 and found[i - 1][1] == "tf1", (
                f"docs/migration.md:{line}: a `python scopejax` block without its TF1 block")
        else:
            assert tag == "check", f"docs/migration.md:{line}: unknown block tag {tag!r}"
    return pairs


def migration_checks() -> list[Any]:
    return [pytest.param(code, line, id=f"L{line}-{_slug(heading)}")
            for heading, tag, code, line in blocks(DOCS / "migration.md") if tag == "check"]


def _run(code: str, namespace: dict[str, Any], where: str) -> dict[str, Any]:
    linecache.cache[where] = (len(code), None, code.splitlines(True), where)  # readable tracebacks
    exec(compile(code, where, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason=TF_REASON)


def tf_variables(tf: Any, code: str, where: str) -> list[tuple[str, tuple[int, ...], bool]]:
    """Runs a TF1 block in a fresh graph; its global and local variables, sorted by name."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        _run(code, {"tf": tf1, "np": np, "__name__": "tf1_block"}, where)
        variables = {v.name: v for v in tf1.global_variables() + tf1.local_variables()}
        trainable = {v.name for v in tf1.trainable_variables()}
    return sorted((name.removesuffix(":0"), tuple(v.shape.as_list()), name in trainable)
                  for name, v in variables.items())


def store_variables(params: Any) -> list[tuple[str, tuple[int, ...], bool]]:
    """The store's variables as TF1 creates them: a partitioned ``v`` is its shards."""
    assert isinstance(params, sj.ParamStore), f"`params` is a {type(params).__name__}"
    if any(info.stacked for info in params.infos().values()):
        params = params.unstack_layers()
    out = []
    for name, info in params.infos().items():
        part = info.partition
        if part is None:
            out.append((name, tuple(info.shape), info.trainable))
            continue
        for i, shard in enumerate(part.part_names(name)):
            out.append((shard, tuple(part.part_shape(i)), info.trainable))
    return sorted(out)


def scopejax_namespace() -> dict[str, Any]:
    return {"jax": jax, "jnp": jnp, "np": np, "sj": sj, "__name__": "scopejax_block"}


@pytest.mark.parametrize(("tf1_code", "sj_code", "line"), migration_pairs())
def test_migration_pair_creates_the_same_variables(tf, tmp_path, monkeypatch, tf1_code, sj_code,
                                                   line):  # fmt: skip
    monkeypatch.chdir(tmp_path)  # checkpoint pairs write files; the scopejax side reads TF's
    expected = tf_variables(tf, tf1_code, f"docs/migration.md:{line} (tf1)")
    namespace = _run(sj_code, scopejax_namespace(), f"docs/migration.md (scopejax after L{line})")
    assert "params" in namespace, "a scopejax block must leave its ParamStore in `params`"
    assert store_variables(namespace["params"]) == expected
    assert expected, "a pair that creates no variable compares nothing"


@pytest.mark.parametrize(("code", "line"), migration_checks())
def test_known_difference_check_runs(tmp_path, monkeypatch, code, line):
    monkeypatch.chdir(tmp_path)
    _run(code, scopejax_namespace(), f"docs/migration.md:{line} (check)")


def test_migration_guide_covers_the_reference_arguments():
    """Every argument of get_variable / variable_scope appears in a heading of the guide."""
    text = (DOCS / "migration.md").read_text()
    titles = " ".join(m.group("title") for m in _HEADING.finditer(text))
    params = set(inspect.signature(sj.get_variable).parameters)
    params |= set(inspect.signature(sj.variable_scope).parameters) - {"name_or_scope"}
    params |= {"name_or_scope", "reuse_variables", "AUTO_REUSE", "default_name"}
    missing = sorted(p for p in params if f"`{p}" not in titles and f"{p}`" not in titles)
    assert not missing, f"docs/migration.md has no section on {missing}"


# --------------------------------------------------------------------------- troubleshooting


def public_error_classes() -> dict[str, type[BaseException]]:
    """``{"VariableExistsError": cls, "checkpoint.CheckpointError": cls, ...}``: every exception
    class in ``scopejax.__all__`` or a public submodule's ``__all__``, and their scopejax bases."""
    found: dict[type[BaseException], str] = {}
    for prefix in ("", *PUBLIC_SUBMODULES):
        module = importlib.import_module("scopejax" + (f".{prefix}" if prefix else ""))
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                found.setdefault(obj, f"{prefix}.{name}" if prefix else name)
    for cls in list(found):
        for base in cls.__mro__[1:]:
            if base.__module__.startswith("scopejax") and base not in found:
                raise AssertionError(f"{base.__qualname__} (a base of {cls.__name__}) is not "
                                     f"exported by any public __all__")
    return {label: cls for cls, label in found.items()}


def resolve(label: str) -> type[BaseException]:
    module, _, name = label.rpartition(".")
    return getattr(importlib.import_module("scopejax" + (f".{module}" if module else "")), name)


def troubleshooting_sections() -> dict[str, list[tuple[str, int]]]:
    """``{class label: [(snippet, line), ...]}`` from the ``## `Label` `` sections."""
    sections: dict[str, list[tuple[str, int]]] = {}
    for heading, tag, code, line in blocks(DOCS / "troubleshooting.md"):
        m = re.fullmatch(r"`([\w.]+)`", heading)
        assert m and tag is None, (f"docs/troubleshooting.md:{line}: a snippet outside an "
                                   f"error section, or with a tag ({heading!r}, {tag!r})")
        sections.setdefault(m.group(1), []).append((code, line))
    return sections


SECTIONS = troubleshooting_sections()
_BASES = {"ScopeJaxError", "checkpoint.CheckpointError", "tf_checkpoint.CheckpointError"}


@pytest.mark.parametrize(("label", "code", "line"),
                         [pytest.param(label, code, line, id=label)
                          for label, snippets in SECTIONS.items() for code, line in snippets])
def test_troubleshooting_snippet_raises_its_error(tmp_path, monkeypatch, label, code, line):
    monkeypatch.chdir(tmp_path)
    cls = resolve(label)
    with pytest.raises(cls) as info:
        _run(code, scopejax_namespace(), f"docs/troubleshooting.md:{line}")
    if label not in _BASES:  # a base class is documented with one of its subclasses
        assert type(info.value) is cls, f"raised {type(info.value).__name__}, not {label}"


def test_every_public_error_class_has_a_troubleshooting_section():
    documented = set(SECTIONS)
    public = set(public_error_classes())
    assert sorted(public - documented) == [], "error classes without a troubleshooting section"
    assert sorted(documented - public) == [], "sections for classes that are not public"
    text = (DOCS / "troubleshooting.md").read_text()
    for label in public:  # what it means, a real message and the fix, not just a snippet
        body = text.split(f"## `{label}`\n", 1)[1].split("\n## ", 1)[0]
        assert "**Typical message:**" in body and "**Fix:**" in body, label


# --------------------------------------------------------------------------- API reference


def test_api_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_api_docs",
                                                  ROOT / "scripts" / "gen_api_docs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = gen.render()
    assert expected == gen.render(), "the generator is not deterministic"
    current = (DOCS / "api.md").read_text()
    assert current == expected, ("docs/api.md is out of date: run "
                                 "`.venv/bin/python scripts/gen_api_docs.py`")
    for label in public_error_classes():  # every error links to its troubleshooting section
        anchor = re.sub(r"[^a-z0-9_-]", "", label.lower().replace(".", ""))
        assert f"(troubleshooting.md#{anchor})" in current, label
