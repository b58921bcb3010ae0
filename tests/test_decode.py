"""data_pipeline.decode: formats, header sizes and EXIF orientation, eagerly and in tf.data."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from data_pipeline import decode
from tests.conftest import encode, huge_png_header, photo

FORMATS = [
    ("JPEG", {"quality": 95}, decode.JPEG),
    ("PNG", {}, decode.PNG),
    ("BMP", {}, decode.BMP),
    ("GIF", {}, decode.GIF),
    ("WEBP", {"lossless": True}, decode.WEBP),
    ("WEBP", {"quality": 90}, decode.WEBP),
    ("TIFF", {}, decode.TIFF),
]


@pytest.mark.parametrize("fmt,kwargs,code", FORMATS)
def test_sniff_format_and_header_size(fmt, kwargs, code):
    data = tf.constant(encode(photo("coffee", (37, 23)), fmt, **kwargs))
    image_format = decode.sniff_format(data)
    assert int(image_format) == code
    height, width = decode.header_size(data, image_format)
    expected = (-1, -1) if code == decode.TIFF else (23, 37)
    assert (int(height), int(width)) == expected


def test_webp_with_alpha_header_size():
    rgba = Image.fromarray(photo("rocket", (31, 17))).convert("RGBA")
    data = tf.constant(encode(rgba, "WEBP", lossless=True))
    assert [int(v) for v in decode.header_size(data, decode.sniff_format(data))] == [
        17,
        31,
    ]


@pytest.mark.parametrize("contents", [b"", b"hello, I am text", b"\x00" * 100])
def test_unknown_bytes_are_not_images(contents):
    assert int(decode.sniff_format(tf.constant(contents))) == decode.UNKNOWN


def test_decompression_bomb_size_is_read_without_decoding():
    data = tf.constant(huge_png_header(100_000, 90_000))
    assert [int(v) for v in decode.header_size(data, decode.sniff_format(data))] == [
        90_000,
        100_000,
    ]


@pytest.mark.parametrize(
    "fmt,kwargs", [("PNG", {}), ("BMP", {}), ("WEBP", {"lossless": True})]
)
def test_lossless_formats_decode_exactly(fmt, kwargs):
    image = photo("astronaut", (30, 20))
    np.testing.assert_array_equal(
        decode.decode_rgb(tf.constant(encode(image, fmt, **kwargs))), image
    )


def test_grey_palette_alpha_and_16_bit_pngs_become_rgb():
    image = photo("coffee", (20, 10))
    gray = np.asarray(Image.fromarray(image).convert("L"))
    cases = {
        "gray": (Image.fromarray(gray), np.stack([gray] * 3, -1)),
        "rgba": (Image.fromarray(image).convert("RGBA"), image),
        "palette": (Image.fromarray(image).quantize(64), None),
        "gray16": (
            Image.fromarray(gray.astype(np.uint16) * 257),
            np.stack([gray] * 3, -1),
        ),
    }
    for name, (pil, expected) in cases.items():
        result = decode.decode_rgb(tf.constant(encode(pil, "PNG"))).numpy()
        assert result.shape == (10, 20, 3), name
        if expected is None:
            expected = np.asarray(pil.convert("RGB"))
        np.testing.assert_array_equal(result, expected, err_msg=name)


def test_gif_first_frame():
    frames = [Image.fromarray(np.full((8, 12, 3), v, np.uint8)) for v in (200, 30)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    result = decode.decode_rgb(tf.constant(buffer.getvalue())).numpy()
    assert result.shape == (8, 12, 3) and abs(int(result.mean()) - 200) <= 2


def jpeg_with_orientation(image, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=98, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_exif_orientation_is_applied_like_pillow(orientation, mode):
    image = np.zeros((24, 40, 3), np.uint8)
    image[:8, :8] = (255, 0, 0)  # a red corner shows every turn and flip
    image[-8:, :8] = (0, 0, 255)
    data = jpeg_with_orientation(image, orientation)
    expected = np.asarray(
        ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    )
    if mode == "eager":
        assert int(decode.exif_orientation(tf.constant(data))) == orientation
        result = decode.decode_rgb(tf.constant(data)).numpy()
    else:
        result = next(
            iter(tf.data.Dataset.from_tensors(data).map(decode.decode_rgb))
        ).numpy()
    assert result.shape == expected.shape
    assert np.abs(result.astype(int) - expected).mean() < 2


def jpeg_with_handmade_exif(image, orientation, byte_order):
    """A JPEG whose APP1 segment is written here, in either TIFF byte order."""
    order = "little" if byte_order == b"II" else "big"
    entry = (
        (0x0112).to_bytes(2, order) + (3).to_bytes(2, order) + (1).to_bytes(4, order)
    )
    entry += orientation.to_bytes(2, order) + b"\0\0"
    tiff = byte_order + (42).to_bytes(2, order) + (8).to_bytes(4, order)
    tiff += (1).to_bytes(2, order) + entry + (0).to_bytes(4, order)
    app1 = b"Exif\0\0" + tiff
    jpeg = encode(image, "JPEG")
    return jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg[2:]


@pytest.mark.parametrize("byte_order", [b"II", b"MM"])
def test_exif_in_both_byte_orders(byte_order):
    image = photo("chelsea", (30, 20))
    data = jpeg_with_handmade_exif(image, 6, byte_order)
    assert int(decode.exif_orientation(tf.constant(data))) == 6
    assert decode.decode_rgb(tf.constant(data)).shape == (30, 20, 3)


def test_no_exif_means_orientation_one():
    assert (
        int(
            decode.exif_orientation(
                tf.constant(encode(photo("coffee", (8, 8)), "JPEG"))
            )
        )
        == 1
    )


def test_corrupt_bytes_raise_so_tf_data_can_skip_them():
    good = encode(photo("astronaut", (64, 64)), "JPEG")
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode.decode_rgb(tf.constant(good[: len(good) // 3]))


def test_tiff_fallback_decodes_with_opencv():
    image = photo("rocket", (20, 12))
    np.testing.assert_array_equal(
        decode.decode_tiff_py(tf.constant(encode(image, "TIFF"))), image
    )
