"""The public surface: __all__ is complete and importable, objects read as scopejax.*."""

import inspect

import scopejax
from scopejax import pure


def test_all_names_exist_and_are_unique():
    assert len(scopejax.__all__) == len(set(scopejax.__all__))
    for name in scopejax.__all__:
        assert hasattr(scopejax, name), name


def test_all_is_complete():
    public = {n for n in dir(scopejax) if not n.startswith("_")}
    assert public - set(scopejax.__all__) == set()


def test_public_objects_report_the_scopejax_module():
    for name in scopejax.__all__:
        obj = getattr(scopejax, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "scopejax", name


def test_errors_inherit_builtins():
    assert issubclass(scopejax.VariableExistsError, ValueError)
    assert issubclass(scopejax.VariableNotFoundError, ValueError)
    assert issubclass(scopejax.VariableNotFoundError, KeyError)
    assert issubclass(scopejax.ScopeTypeError, TypeError)
    assert issubclass(scopejax.ScopeNestingError, RuntimeError)
    for name in scopejax.__all__:
        obj = getattr(scopejax, name)
        if obj is scopejax.ScopeJaxError:
            continue
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, scopejax.ScopeJaxError)
            assert issubclass(obj, ValueError | TypeError | RuntimeError | ImportError), name


def test_pure_module():
    assert pure.__all__ == ["ParamStore", "Scope", "get_variable"]
    assert pure.Scope is scopejax.Scope


def test_optional_submodules_load_lazily_and_name_their_extra():
    import subprocess
    import sys

    # Importing scopejax does not import orbax; `scopejax.checkpoint` does, on first use.
    code = ("import sys, scopejax; assert 'orbax' not in sys.modules; "
            "assert {'checkpoint', 'interop', 'layers', 'tf_checkpoint'} <= set(dir(scopejax)); "
            "scopejax.checkpoint.save; assert 'orbax.checkpoint' in sys.modules")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    # Without orbax the error names the extra to install.
    code = ("import sys; sys.modules['orbax'] = None; sys.modules['orbax.checkpoint'] = None\n"
            "import scopejax\ntry:\n    scopejax.checkpoint\n"
            "except scopejax.MissingExtraError as e:\n    print(e)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                         capture_output=True, text=True).stdout  # fmt: skip
    assert "scopejax.checkpoint needs the `ckpt` extra: pip install 'scopejax[ckpt]'" in out
