"""Reading TF1 (and TF2 name-based) checkpoints into a ``ParamStore``, without TensorFlow.

scopejax names variables exactly as ``tf.compat.v1`` does, so a checkpoint written by
``tf.compat.v1.train.Saver`` loads with no renaming::

    from scopejax import tf_checkpoint
    tf_checkpoint.list_variables("/ckpts/run1")  # [(name, shape, dtype), ...]
    target = model.init_abstract(jax.random.key(0), x)  # shardings of the mesh, no computation
    params = tf_checkpoint.load_checkpoint("/ckpts/run1", target)

Partitioned variables (``v/part_0``... saved as slices) come back as scopejax's single logical
variable, placed straight into the target's sharding. From a shell:
``python -m scopejax inspect /ckpts/run1``.
"""

from scopejax._src.tf_assignment import AssignmentMap, LoadReport
from scopejax._src.tf_checkpoint import (
    CheckpointVariable,
    list_variables,
    load_checkpoint,
    load_variable,
)
from scopejax._src.tf_errors import (
    AssignmentMapError,
    CheckpointDtypeError,
    CheckpointError,
    CheckpointFormatError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    CheckpointShapeError,
    UnsupportedCheckpointError,
)

__all__ = [
    "AssignmentMap",
    "AssignmentMapError",
    "CheckpointDtypeError",
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "CheckpointShapeError",
    "CheckpointVariable",
    "LoadReport",
    "UnsupportedCheckpointError",
    "list_variables",
    "load_checkpoint",
    "load_variable",
]

# Tracebacks and reprs name the public module (doctests stay with the _src modules: the classes
# relabelled here carry none).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
