"""The photos a hinted model's page may colorize again: decoded uploads kept by id, so a
new set of colour hints is sent without the photo.

    uploads = Uploads(max_items=16, max_bytes=512 * 2**20)
    image_id = uploads.add(Upload(image, jpeg=True, filename="scan.jpg"))
    upload = uploads.get(image_id)  # None once it was pushed out

The least recently used photos are dropped first, when there are more than
`max_items` or their pixels take more than `max_bytes`. Ids are random (128 bits), so
one page cannot guess another's photo.
"""

import collections
import dataclasses
import secrets
import threading


@dataclasses.dataclass(frozen=True)
class Upload:
    """A decoded upload (`image_io.ImageData`), whether it was a JPEG (the answer's
    format), and its file name."""

    image: object
    jpeg: bool
    filename: str

    @property
    def nbytes(self):
        alpha = self.image.alpha
        return self.image.rgb.nbytes + (0 if alpha is None else alpha.nbytes)


class Uploads:
    """A bounded, thread-safe store of `Upload`s by id, least recently used out first.

    Args:
        max_items: Photos kept at most.
        max_bytes: Their decoded pixels take at most this many bytes (a larger photo
            is not kept at all).
    """

    def __init__(self, max_items=16, max_bytes=512 * 2**20):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._items)

    def add(self, upload):
        """Keeps `upload`; returns its new id, or None if it is over `max_bytes`."""
        if upload.nbytes > self.max_bytes or self.max_items < 1:
            return None
        image_id = secrets.token_urlsafe(16)
        with self._lock:
            self._items[image_id] = upload
            self._bytes += upload.nbytes
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes
        return image_id

    def get(self, image_id):
        """The `Upload` of `image_id`, or None (unknown, or pushed out)."""
        with self._lock:
            upload = self._items.get(image_id)
            if upload is not None:
                self._items.move_to_end(image_id)
            return upload
