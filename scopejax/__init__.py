"""scopejax: TensorFlow 1's variable_scope / get_variable for JAX, done the JAX way.

Immutable ``Scope`` values, a ``ParamStore`` pytree of named variables, TF1's exact reuse rules,
and ``transform`` to turn a TF1-style function into pure ``init`` / ``apply``.
"""

from scopejax import pure
from scopejax._src.context import get_variable, get_variable_scope, variable_scope
from scopejax._src.errors import (
    CustomGetterError,
    DtypeMismatchError,
    InitializerError,
    InitializerTypeError,
    NoTransformError,
    ReuseError,
    ScopeJaxError,
    ScopeNameError,
    ScopeNestingError,
    ScopeTypeError,
    ShapeMismatchError,
    StoreStructureError,
    StoreTypeError,
    UnsupportedFeatureError,
    VariableExistsError,
    VariableNotFoundError,
)
from scopejax._src.initializers import (
    TFInitializer,
    compute_fans,
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    orthogonal_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from scopejax._src.scope import AUTO_REUSE, Scope
from scopejax._src.store import ParamStore
from scopejax._src.transform import Transformed, transform
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

__version__ = "0.1.0"

__all__ = [
    "AUTO_REUSE",
    "CustomGetterError",
    "DtypeMismatchError",
    "GLOBAL_VARIABLES",
    "InitializerError",
    "InitializerTypeError",
    "NoTransformError",
    "ParamStore",
    "ReuseError",
    "Scope",
    "ScopeJaxError",
    "ScopeNameError",
    "ScopeNestingError",
    "ScopeTypeError",
    "ShapeMismatchError",
    "StoreStructureError",
    "StoreTypeError",
    "TFInitializer",
    "TRAINABLE_VARIABLES",
    "Transformed",
    "UnsupportedFeatureError",
    "VarInfo",
    "VariableExistsError",
    "VariableNotFoundError",
    "compute_fans",
    "constant_initializer",
    "get_variable",
    "get_variable_scope",
    "glorot_normal_initializer",
    "glorot_uniform_initializer",
    "ones_initializer",
    "orthogonal_initializer",
    "pure",
    "random_normal_initializer",
    "random_uniform_initializer",
    "transform",
    "truncated_normal_initializer",
    "variable_scope",
    "variance_scaling_initializer",
    "zeros_initializer",
]

# Public objects report `scopejax` as their module so tracebacks and reprs read well.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__module__")):
        try:
            _obj.__module__ = "scopejax"
        except (AttributeError, TypeError):
            pass
del _name, _obj
