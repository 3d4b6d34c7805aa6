"""Image size from the file's header, before anything is decoded: an image over
``MAX_PIXELS`` is refused with one line instead of filling memory (a 20000×20000 PNG
decodes to 1.2 GB of pixels; a few hundred bytes can claim 60000×60000)."""

from __future__ import annotations

import warnings
from pathlib import Path

from deskwatch.errors import SourceError

MAX_PIXELS = 50_000_000  # 50 megapixels: 8K video is 33
_OVER = f"over the limit of {MAX_PIXELS // 1_000_000} megapixels per image"


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as the header declares it; None when it is no image Pillow knows
    (OpenCV then has its say). Pillow's ``open`` reads the header only."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:  # far over Pillow's own limit, so over ours
        raise SourceError(f"{path}: {_OVER}") from None
    except Exception:  # any parse failure: not an image Pillow can size
        return None
    return int(width), int(height)


def refuse_huge(name: str, width: float, height: float) -> None:
    """Raise a ``SourceError`` when a ``width``×``height`` picture is over ``MAX_PIXELS``."""
    if width * height > MAX_PIXELS:
        raise SourceError(f"{name}: {int(width)}×{int(height)} is {_OVER}")


def check_image_file(path: Path) -> None:
    """Refuse an image file whose header declares more than ``MAX_PIXELS``."""
    size = header_size(path)
    if size is not None:
        refuse_huge(str(path), *size)
