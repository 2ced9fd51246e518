"""Callable packages: ``evidex.parse(...)`` and ``evidex.extract(...)`` are the public functions *and* the
namespaces of their layers (``evidex.parse.pdf``, ``evidex.extract.stages``).

Python binds a package to its parent's attribute when it is imported, so a function of the same name on
``evidex`` would be replaced by the package as soon as anything imports it. Instead each of the two packages
becomes callable and forwards the call to its public function, named by a string and imported only when called
(for ``extract`` that is :func:`evidex.api.extract`, a layer above; the forward is the one upward reference, at
call time only).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class CallableModule(ModuleType):
    __evidex_call__: str  # "module:function"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mod, _, fn = self.__evidex_call__.partition(":")
        return getattr(importlib.import_module(mod), fn)(*args, **kwargs)


def make_callable(module_name: str, target: str) -> None:
    """Make the (already imported) module ``module_name`` callable as ``target`` (``"module:function"``)."""
    mod = sys.modules[module_name]
    mod.__class__ = CallableModule
    mod.__evidex_call__ = target  # type: ignore[attr-defined]
