"""Array type aliases shared by the stages."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]  # BGR HxWx3 or grey HxW
Points = NDArray[np.float64]  # Nx2 or Nx3 landmark coordinates


def as_image(array: Any) -> Image:
    """View an OpenCV result as uint8 (no copy when it already is)."""
    return np.asarray(array, dtype=np.uint8)
