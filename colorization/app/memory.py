"""The memory a job of the app takes, and the budget the running jobs share.

    budget = MemoryBudget(default_memory_budget())
    need = job_bytes(pixels, result_pixels, upload_bytes=len(data))
    with budget.reserve(need):          # waits until it fits beside the other jobs
        ...
    give_back_memory()

The estimates are upper bounds measured on the app's own path (`fullres`): a photo
whose estimate is over the whole budget is refused before it is decoded.
"""

import contextlib
import ctypes
import functools
import os
import threading

TILE_PIXELS = 1 << 18  # pixels of one tile of rows of the full-resolution work
# Bytes per pixel of a job, rounded up from the peaks measured on the app's path
# (flat and noisy PNG and JPEG photos of 6 to 40 MP, 8- and 16-bit, with alpha): the
# upload's decoding (Pillow's image and the arrays `image_io` makes: 48 bytes a pixel
# for 16-bit files), the decoded photo and TensorFlow's copy of it, and per pixel of
# the result: the array, Pillow's copy (4 bytes), the encoded file and its copy. A
# tile of rows takes _TILE_BYTES per pixel of the tile.
_DECODE_BYTES = {False: 14, True: 60}  # 8-bit, or 16-bit and float (float32) photos
_PHOTO_BYTES = {False: 6, True: 24}
_RESULT_BYTES = 14
_TILE_BYTES = 160
_FIXED_BYTES = 8 << 20


def job_bytes(pixels, result_pixels, wide=False, upload_bytes=0, decoded=False):
    """The most memory a job takes, in bytes (an upper bound).

    Args:
        pixels: The photo's pixels.
        result_pixels: The answer's pixels (twice the photo's for 'compare').
        wide: The photo decodes to float32 (16-bit or float files).
        upload_bytes: The upload's file, read into memory.
        decoded: The photo is decoded already (kept for new hints): no decoding.
    """
    photo = pixels * _PHOTO_BYTES[wide]
    decode = 0 if decoded else pixels * _DECODE_BYTES[wide]
    work = result_pixels * _RESULT_BYTES + min(pixels, TILE_PIXELS) * _TILE_BYTES
    return _FIXED_BYTES + upload_bytes + max(decode, photo + work)


def default_memory_budget():
    """A quarter of the memory of this machine (or of its container's limit), in
    bytes, for the jobs the app runs at once."""
    total = 4 << 30
    with contextlib.suppress(ValueError, OSError, AttributeError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in (
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        with contextlib.suppress(OSError, ValueError):
            with open(path, encoding="ascii") as f:
                total = min(total, int(f.read().strip()))
    return max(256 << 20, total // 4)


class MemoryBudget:
    """Bytes the running jobs may take together: a job waits (on its worker thread)
    until its estimate fits beside the others'.

    Args:
        total: The budget, in bytes.
    """

    def __init__(self, total):
        self.total = total
        self.used = 0
        self.waiting = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, nbytes):
        """Holds `nbytes` of the budget for the `with` block (waits for them).

        Raises:
            ValueError: `nbytes` is more than the whole budget.
        """
        if nbytes > self.total:
            raise ValueError(f"{nbytes} bytes: more than the budget of {self.total}")
        with self._changed:
            self.waiting += 1
            try:
                self._changed.wait_for(lambda: self.used + nbytes <= self.total)
            finally:
                self.waiting -= 1
            self.used += nbytes
        try:
            yield
        finally:
            with self._changed:
                self.used -= nbytes
                self._changed.notify_all()


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None (another C library)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        return ctypes.CDLL(None).malloc_trim
    return None


def give_back_memory():
    """Returns the freed heap of the C allocator to the system (glibc only), so that
    the memory a large photo took does not stay with the process."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
