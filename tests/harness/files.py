"""Files a test uploads: a real PNG of a chosen size, so thumbnails and image checks see a real image."""

from __future__ import annotations

import io

from PIL import Image


def png(width: int = 64, height: int = 48, colour: str = "#3a7", mode: str = "RGB") -> bytes:
    """A PNG of ``width`` × ``height`` pixels, all ``colour``."""
    out = io.BytesIO()
    Image.new(mode, (width, height), colour).save(out, "PNG")
    return out.getvalue()
