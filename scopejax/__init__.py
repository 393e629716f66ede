"""scopejax: TensorFlow 1's variable_scope / get_variable for JAX, done the JAX way.

Immutable ``Scope`` values, a ``ParamStore`` pytree of named variables, TF1's exact reuse rules,
and ``transform`` to turn a TF1-style function into pure ``init`` / ``apply``.
"""

import importlib as _importlib
from typing import Any as _Any

from scopejax import pure
from scopejax._src.caching import CachingDeviceError
from scopejax._src.context import (
    get_local_variable,
    get_variable,
    get_variable_scope,
    variable_scope,
)
from scopejax._src.errors import (
    CustomGetterError,
    DtypeMismatchError,
    InitializerError,
    InitializerTypeError,
    MissingExtraError,
    NoRngError,
    NotMutableError,
    NoTransformError,
    RegularizerError,
    ReuseError,
    ScopeJaxError,
    ScopeNameError,
    ScopeNestingError,
    ScopeTypeError,
    ShapeMismatchError,
    StoreStructureError,
    StoreTypeError,
    TransformLeakError,
    UnsupportedFeatureError,
    VariableExistsError,
    VariableNotFoundError,
)
from scopejax._src.graph_keys import (
    GraphKeys,
    add_to_collection,
    add_to_collections,
    get_collection,
    get_regularization_loss,
    get_regularization_losses,
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
from scopejax._src.lift import cond, remat, scan, vmap, while_loop
from scopejax._src.partitioners import (
    PartitionerError,
    PartitionInfo,
    fixed_size_partitioner,
    min_max_variable_partitioner,
    variable_axis_size_partitioner,
)
from scopejax._src.placement import PlacementError
from scopejax._src.regularizers import (
    l1_l2_regularizer,
    l1_regularizer,
    l2_regularizer,
    no_regularizer,
    sum_regularizer,
)
from scopejax._src.rng import next_rng_key
from scopejax._src.scope import AUTO_REUSE, Scope
from scopejax._src.spec_partitioners import logical_partitioner
from scopejax._src.stacking import scan_layers
from scopejax._src.state import assign, assign_add, assign_moving_average, assign_sub
from scopejax._src.store import ParamStore
from scopejax._src.summary import Summary, SummaryArgumentError, SummaryTypeError, summary
from scopejax._src.summary_render import print_summary
from scopejax._src.transform import Transformed, transform
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, VarInfo

__version__ = "0.1.0"

__all__ = [
    "AUTO_REUSE",
    "CachingDeviceError",
    "CustomGetterError",
    "DtypeMismatchError",
    "GLOBAL_VARIABLES",
    "GraphKeys",
    "InitializerError",
    "InitializerTypeError",
    "MissingExtraError",
    "NoRngError",
    "NoTransformError",
    "NotMutableError",
    "ParamStore",
    "PlacementError",
    "PartitionInfo",
    "PartitionerError",
    "RegularizerError",
    "ReuseError",
    "Scope",
    "ScopeJaxError",
    "ScopeNameError",
    "ScopeNestingError",
    "ScopeTypeError",
    "ShapeMismatchError",
    "StoreStructureError",
    "StoreTypeError",
    "Summary",
    "SummaryArgumentError",
    "SummaryTypeError",
    "TFInitializer",
    "TRAINABLE_VARIABLES",
    "TransformLeakError",
    "Transformed",
    "UnsupportedFeatureError",
    "VarInfo",
    "VariableExistsError",
    "VariableNotFoundError",
    "add_to_collection",
    "add_to_collections",
    "assign",
    "assign_add",
    "assign_moving_average",
    "assign_sub",
    "compute_fans",
    "checkpoint",
    "cond",
    "constant_initializer",
    "get_collection",
    "get_local_variable",
    "get_regularization_loss",
    "get_regularization_losses",
    "fixed_size_partitioner",
    "get_variable",
    "get_variable_scope",
    "interop",
    "glorot_normal_initializer",
    "glorot_uniform_initializer",
    "l1_l2_regularizer",
    "l1_regularizer",
    "l2_regularizer",
    "layers",
    "logical_partitioner",
    "min_max_variable_partitioner",
    "next_rng_key",
    "no_regularizer",
    "ones_initializer",
    "orthogonal_initializer",
    "print_summary",
    "pure",
    "random_normal_initializer",
    "random_uniform_initializer",
    "remat",
    "scan",
    "scan_layers",
    "sum_regularizer",
    "summary",
    "tf_checkpoint",
    "transform",
    "truncated_normal_initializer",
    "variable_axis_size_partitioner",
    "variable_scope",
    "variance_scaling_initializer",
    "vmap",
    "while_loop",
    "zeros_initializer",
]

# Submodules for optional features load on first use: `scopejax.checkpoint` needs orbax
# (the `ckpt` extra); `interop`, `layers` and `tf_checkpoint` need nothing extra.
_LAZY_SUBMODULES = ("checkpoint", "interop", "layers", "tf_checkpoint")


def __getattr__(name: str) -> _Any:
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"scopejax.{name}")
    raise AttributeError(f"module 'scopejax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


# Public objects report `scopejax` as their module so tracebacks and reprs read well.
for _name in __all__:
    if _name in _LAZY_SUBMODULES:
        continue
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__module__")):
        try:
            _obj.__module__ = "scopejax"
        except (AttributeError, TypeError):
            pass
del _name, _obj
