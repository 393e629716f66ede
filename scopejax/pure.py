"""scopejax's pure core: get_variable as a function of (store, scope, name, ..., key)."""

from scopejax._src.pure import get_variable
from scopejax._src.scope import Scope
from scopejax._src.store import ParamStore

__all__ = ["ParamStore", "Scope", "get_variable"]
