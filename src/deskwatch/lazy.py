"""Heavy native libraries (OpenCV, onnxruntime) imported on first use, not at import time.

The policy's schema lives beside the code that runs it (a detector's config sits in the
detector's module), and the server reads that schema; with ``module()`` it does so
without loading a model library. Write::

    if TYPE_CHECKING:
        import cv2
    else:
        cv2 = lazy.module("cv2")

and use ``cv2`` as usual: the first attribute read imports it, later reads cost nothing
more than on the real module.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """A stand-in that imports the module it names when an attribute is first read."""

    def __getattr__(self, attr: str) -> Any:
        real = importlib.import_module(self.__name__)
        # Copy the real namespace in: from now on attributes are found without this hook.
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def module(name: str) -> ModuleType:
    """A module object for ``name`` that is imported on first use."""
    return _LazyModule(name)
