"""Image bytes -> uint8 RGB in graph ops: format sniffing, size from the header, EXIF.

Everything here is TensorFlow graph ops (no `numpy_function`), so it runs in tf.data on
any host, on TPU hosts and in the tf.data service. The only exception is TIFF, which
TensorFlow cannot decode: `decode_tiff_py` is an OpenCV fallback that the folder source
adds to the graph only when the folder holds TIFF files.
"""

import numpy as np
import tensorflow as tf

# Format codes returned by `sniff_format`.
UNKNOWN, JPEG, PNG, GIF, BMP, WEBP, TIFF = range(7)
FORMAT_NAMES = ("unknown", "jpeg", "png", "gif", "bmp", "webp", "tiff")
_HEADER_BYTES = 32
_EXIF_SEARCH_BYTES = 65536
_MAX_IFD_ENTRIES = 64
_ORIENTATION_TAG = 0x0112


def _prefix(contents, n):
    """The first n bytes of a scalar string tensor as int32, zero-padded."""
    head = tf.strings.substr(contents, 0, n)
    head = tf.strings.join([head, tf.constant(b"\0" * n)])
    return tf.cast(tf.io.decode_raw(tf.strings.substr(head, 0, n), tf.uint8), tf.int32)


def _matches(head, signature, offset=0):
    sig = tf.constant(list(signature), tf.int32)
    return tf.reduce_all(head[offset : offset + len(signature)] == sig)


def sniff_format(contents):
    """Returns the format code (`JPEG`, `PNG`, ...) from the magic bytes of a file."""
    head = _prefix(contents, _HEADER_BYTES)
    checks = [
        (_matches(head, b"\xff\xd8\xff"), JPEG),
        (_matches(head, b"\x89PNG\r\n\x1a\n"), PNG),
        (_matches(head, b"GIF8"), GIF),
        (_matches(head, b"BM"), BMP),
        (tf.logical_and(_matches(head, b"RIFF"), _matches(head, b"WEBP", 8)), WEBP),
        (tf.logical_or(_matches(head, b"II*\0"), _matches(head, b"MM\0*")), TIFF),
    ]
    code = tf.constant(UNKNOWN)
    for is_format, format_code in reversed(checks):
        code = tf.where(is_format, format_code, code)
    return code


def _le(b, start, n):
    """Little-endian unsigned integer of n bytes of the int32 byte vector b."""
    return sum(tf.cast(b[start + i], tf.int64) * 256**i for i in range(n))


def _be(b, start, n):
    return sum(tf.cast(b[start + i], tf.int64) * 256 ** (n - 1 - i) for i in range(n))


def header_size(contents, image_format):
    """(height, width) read from the file header, without decoding the pixels.

    Used to refuse decompression bombs before they are decoded. Returns (-1, -1) for
    formats whose size is not read here (TIFF, unknown).
    """
    b = _prefix(contents, _HEADER_BYTES)
    bmp_height = _le(b, 22, 4)
    bmp_height = tf.where(
        bmp_height >= 2**31, 2**32 - bmp_height, bmp_height
    )  # top-down
    vp8l_bits = _le(b, 21, 4)
    webp = tf.case(
        [
            (_matches(b, b"VP8X", 12), lambda: (_le(b, 27, 3) + 1, _le(b, 24, 3) + 1)),
            (
                _matches(b, b"VP8L", 12),
                lambda: ((vp8l_bits // 2**14) % 2**14 + 1, vp8l_bits % 2**14 + 1),
            ),
        ],
        default=lambda: (_le(b, 28, 2) % 2**14, _le(b, 26, 2) % 2**14),  # VP8
    )

    def jpeg():
        shape = tf.cast(tf.image.extract_jpeg_shape(contents), tf.int64)
        return shape[0], shape[1]

    sizes = {
        PNG: lambda: (_be(b, 20, 4), _be(b, 16, 4)),
        GIF: lambda: (_le(b, 8, 2), _le(b, 6, 2)),
        BMP: lambda: (bmp_height, _le(b, 18, 4)),
        WEBP: lambda: webp,
        JPEG: jpeg,
    }
    unknown = tf.constant(-1, tf.int64)
    return tf.switch_case(
        image_format,
        [
            sizes.get(code, lambda: (unknown, unknown))
            for code in range(len(FORMAT_NAMES))
        ],
    )


def exif_orientation(contents):
    """EXIF orientation (1-8) of a JPEG, 1 if it has none. Pure graph ops."""
    raw = tf.strings.substr(contents, 0, _EXIF_SEARCH_BYTES)
    b = tf.cast(tf.io.decode_raw(raw, tf.uint8), tf.int32)
    n = tf.shape(b)[0]
    b = tf.pad(b, [[0, _EXIF_SEARCH_BYTES + 16 - n]])
    sig = list(b"Exif\0\0")
    hits = tf.ones([_EXIF_SEARCH_BYTES + 16 - 5], tf.bool)
    for i, byte in enumerate(sig):
        hits &= b[i : _EXIF_SEARCH_BYTES + 16 - 5 + i] == byte
    found = tf.where(hits)
    if_found = tf.size(found) > 0
    tiff = tf.cond(if_found, lambda: tf.cast(found[0, 0], tf.int32) + 6, lambda: 0)
    little = tf.logical_and(tf.gather(b, tiff) == 0x49, tf.gather(b, tiff + 1) == 0x49)

    def u16(pos):
        lo, hi = tf.gather(b, pos), tf.gather(b, pos + 1)
        return tf.where(little, lo + hi * 256, lo * 256 + hi)

    def u32(pos):
        first, second = u16(pos), u16(pos + 2)
        return tf.where(little, first + second * 65536, first * 65536 + second)

    limit = _EXIF_SEARCH_BYTES - 12 * _MAX_IFD_ENTRIES - 16
    ifd = tf.clip_by_value(tiff + u32(tiff + 4), 0, limit)
    count = tf.minimum(u16(ifd), _MAX_IFD_ENTRIES)
    entries = ifd + 2 + 12 * tf.range(_MAX_IFD_ENTRIES)
    tags = u16(entries)
    is_orientation = (tags == _ORIENTATION_TAG) & (tf.range(_MAX_IFD_ENTRIES) < count)
    value = tf.reduce_max(tf.where(is_orientation, u16(entries + 8), 0))
    valid = if_found & (value >= 1) & (value <= 8)
    return tf.where(valid, value, 1)


def apply_orientation(image, orientation):
    """Turns an image [H, W, C] as EXIF orientation 1-8 says it must be displayed."""
    branches = [
        lambda: image,  # 1: as stored
        lambda: tf.image.flip_left_right(image),  # 2: mirrored
        lambda: tf.image.rot90(image, 2),  # 3: upside down
        lambda: tf.image.flip_up_down(image),  # 4: mirrored upside down
        lambda: tf.transpose(image, [1, 0, 2]),  # 5: transposed
        lambda: tf.image.rot90(image, 3),  # 6: needs a quarter turn clockwise
        lambda: tf.image.rot90(tf.transpose(image, [1, 0, 2]), 2),  # 7: transverse
        lambda: tf.image.rot90(image, 1),  # 8: needs a quarter turn anticlockwise
    ]
    return tf.switch_case(tf.clip_by_value(orientation - 1, 0, 7), branches)


def decode_rgb(contents, image_format=None):
    """Decodes JPEG, PNG, BMP, GIF (first frame) or WebP bytes to uint8 RGB [H, W, 3].

    Grey and palette images become RGB, alpha is dropped, 16-bit PNGs are scaled to
    8 bits and the EXIF orientation of JPEGs is applied. Raises InvalidArgumentError on
    bytes it cannot decode (tf.data callers skip those with `ignore_errors`).
    """
    if image_format is None:
        image_format = sniff_format(contents)
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image = tf.cond(
        tf.equal(image_format, JPEG),
        lambda: apply_orientation(image, exif_orientation(contents)),
        lambda: image,
    )
    image.set_shape([None, None, 3])
    return image


def decode_tiff_py(contents):
    """OpenCV decode for formats TensorFlow cannot read (TIFF). Not graph-only."""

    def _decode(data):
        import cv2  # only the TIFF fallback needs OpenCV

        data = data.item() if isinstance(data, np.ndarray) else data  # 0-d object array
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("OpenCV cannot decode this file")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    image = tf.numpy_function(_decode, [contents], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image
