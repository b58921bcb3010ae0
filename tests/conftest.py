"""Shared fixtures: small real photos (scikit-image's) and bad files, made per test."""

import io
import os
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from PIL import Image


def photo(name="astronaut", size=None):
    """A real colour photo from scikit-image as uint8 RGB, optionally resized (w, h)."""
    from skimage import data

    image = getattr(data, name)()[..., :3]
    if size is not None:
        image = np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC))
    return image


def encode(image, fmt="PNG", **kwargs):
    """Encodes a uint8 array (or PIL image) with Pillow and returns the bytes."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def huge_png_header(width=100_000, height=100_000):
    """A PNG whose header claims a decompression-bomb size (its pixel data is tiny)."""
    small = encode(np.zeros((4, 4, 3), np.uint8), "PNG")
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + small[24:29]
    return small[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + small[33:]


@pytest.fixture
def photo_dir(tmp_path):
    """A folder with colour photos in several formats, one level of subfolders."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(
        encode(photo("astronaut", (96, 64)), "JPEG", quality=95)
    )
    (root / "b.png").write_bytes(encode(photo("coffee", (50, 80)), "PNG"))
    (root / "sub" / "c.bmp").write_bytes(encode(photo("chelsea", (70, 70)), "BMP"))
    (root / "sub" / "d.webp").write_bytes(
        encode(photo("rocket", (80, 40)), "WEBP", lossless=True)
    )
    (root / "sub" / "e.GIF").write_bytes(encode(photo("astronaut", (40, 60)), "GIF"))
    (root / "notes.txt").write_text("not an image, and not listed")
    return root


@pytest.fixture
def bad_files(tmp_path):
    """A folder with two good photos and every kind of bad file, by reason."""
    root = tmp_path / "bad"
    root.mkdir()
    good = encode(photo("astronaut", (64, 64)), "JPEG", quality=90)
    (root / "good1.jpg").write_bytes(good)
    (root / "good2.png").write_bytes(encode(photo("coffee", (64, 48)), "PNG"))
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("this is a text file renamed to .jpg\n" * 20)
    (root / "huge.png").write_bytes(huge_png_header())
    gray = np.stack([photo("astronaut", (64, 64))[..., 0]] * 3, -1)
    (root / "gray.jpg").write_bytes(encode(gray, "JPEG", quality=90))
    return root
