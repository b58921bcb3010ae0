"""The naturalness survey of the Zhu report: its photos, its SQLite votes, its results.

    store = SurveyStore("survey.sqlite3")              # schema made on first use
    photos = PhotoSet.load("survey_images/", store.secret)
    photo, _, remaining = store.first_photo(photos)     # a visitor: nothing written
    who, shown_at = new_participant_id(), time.time()   # kept in signed cookies
    store.vote(who, photo.id, True, 1830, photos, first=(photo.id, shown_at, "agent"))
    photo, answered, remaining = store.next_photo(who, photos)
    store.vote(who, photo.id, natural=True, response_ms=1830, photos=photos)

The photo folder holds `real/` (colour photos) and one folder per colorizer; photos
with the same relative name (without extension) in several folders show one scene, and
a participant sees each scene once, from one source. A visitor becomes a participant
with their first vote, so visits write nothing. Votes are written in one transaction
each, in WAL mode with full sync, so a committed vote survives a crash.
This module needs only the standard library and Pillow (for the photos).
"""

import collections
import contextlib
import dataclasses
import functools
import hashlib
import hmac
import io
import os
import random
import secrets
import sqlite3
import time

from data_pipeline import files

REAL = "real"
DISPLAY_SIDE = 1024  # every source is shown re-encoded the same way: no tell-tale
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS shown (
    participant TEXT NOT NULL REFERENCES participants (id),
    photo TEXT NOT NULL,
    shown_at REAL NOT NULL,
    PRIMARY KEY (participant, photo)
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    participant TEXT NOT NULL REFERENCES participants (id),
    photo TEXT NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    natural INTEGER NOT NULL CHECK (natural IN (0, 1)),
    response_ms INTEGER NOT NULL CHECK (response_ms >= 0),
    server_ms INTEGER NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (participant, photo)
);
"""


class SurveyError(ValueError):
    """A survey folder or database that cannot be used; the message says why."""


class Refused(ValueError):
    """A request the survey refuses (nothing was written); `status` is its HTTP code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class Photo:
    id: str  # opaque: says nothing of the source
    source: str
    path: str  # relative to the source folder, with "/"
    file: str
    scene: str


def scene_of(path):
    """Photos of one scene share their relative name without extension."""
    return os.path.splitext(path)[0].lower()


class PhotoSet:
    """The survey's photos, by opaque id (an HMAC of source and path under the
    database's secret, so ids stay the same across restarts)."""

    def __init__(self, photos):
        self.photos = list(photos)
        self.by_id = {photo.id: photo for photo in self.photos}
        self.sources = sorted({p.source for p in self.photos}, key=source_order)
        self.scene_sources = collections.Counter(p.scene for p in self.photos)
        self.scene_count = len(self.scene_sources)

    @classmethod
    def load(cls, folder, secret):
        """The photos of `scan(folder)`, with ids under `secret`."""
        photos = []
        for source, relative, path in scan(folder):
            key = f"{source}/{relative}".encode()
            digest = hmac.new(secret.encode(), key, hashlib.sha256).hexdigest()
            photos.append(
                Photo(digest[:20], source, relative, path, scene_of(relative))
            )
        return cls(photos)

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one set lives as long as the app)
    def jpeg(self, photo_id):
        """The photo as shown: longer side at most DISPLAY_SIDE, JPEG, no metadata."""
        from PIL import Image

        from colorization.inference import image_io

        rgb = image_io.to_uint8(image_io.read_image(self.by_id[photo_id].file).rgb)
        image = Image.fromarray(rgb)
        image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()


def scan(folder):
    """(source, relative path, path) of every photo of a survey folder: `real/` and one
    folder per colorizer.

    Raises:
        SurveyError: no such folder, no `real/`, no colorizer folder or an empty one.
    """
    if not os.path.isdir(folder):
        raise SurveyError(f"survey images folder {folder!r} does not exist")
    sources = sorted(
        name
        for name in os.listdir(folder)
        if not name.startswith(".") and os.path.isdir(os.path.join(folder, name))
    )
    if REAL not in sources or len(sources) < 2:
        raise SurveyError(
            f"survey images folder {folder!r} needs a '{REAL}' folder of colour "
            f"photos and one folder per colorizer; it has {sources or 'none'}"
        )
    found = []
    for source in sources:
        root = os.path.join(folder, source)
        paths = list(files.walk_images(root))
        if not paths:
            raise SurveyError(f"survey folder {root!r} holds no images")
        for path in paths:
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            found.append((source, relative, path))
    return found


def source_order(source):
    """`real` first, then the colorizers by name."""
    return (source != REAL, source)


class SurveyStore:
    """The votes in SQLite; one short connection and transaction per operation.

    Args:
        path: The database file (made, with its schema, if missing).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            with self.transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise SurveyError(f"{self.path!r} is from a newer version")
                for statement in _SCHEMA.split(";"):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('secret', ?)",
                    (secrets.token_hex(16),),
                )
                db.execute(  # signs the cookies; apart from the photo ids' secret
                    "INSERT OR IGNORE INTO meta VALUES ('cookie_key', ?)",
                    (secrets.token_hex(32),),
                )
                meta = dict(db.execute("SELECT key, value FROM meta"))
                self.secret, self.cookie_key = meta["secret"], meta["cookie_key"]
        except sqlite3.Error as error:
            raise SurveyError(
                f"cannot use {self.path!r} as a survey database: {error}"
            ) from None

    def connect(self):
        """A new connection (autocommit; the caller closes it)."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # a committed vote is on disk
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextlib.contextmanager
    def transaction(self):
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, or ROLLBACK)."""
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def new_participant(self, user_agent=""):
        """A new participant's random id (the app makes them with their first vote)."""
        participant = new_participant_id()
        with self.transaction() as db:
            _add_participant(db, participant, user_agent)
        return participant

    def has_participant(self, participant):
        with contextlib.closing(self.connect()) as db:
            row = db.execute(
                "SELECT 1 FROM participants WHERE id = ?", (participant,)
            ).fetchone()
        return row is not None

    def next_photo(self, participant, photos, rng=random):
        """The photo to show `participant` next, and their answered and remaining counts.

        A photo shown and not answered yet is shown again (a reload does not skip
        it). Otherwise: among the scenes the participant has not seen, the source they
        answered least (ties at random), and in it a photo of a scene the fewest
        sources show (so a source with few scenes keeps them), with the fewest votes.

        Returns:
            (Photo or None when all is answered, answered, remaining).
        """
        with self.transaction() as db:
            _check_participant(db, participant)
            answered = db.execute(
                "SELECT source, path FROM votes WHERE participant = ?", (participant,)
            ).fetchall()
            pending = db.execute(
                "SELECT photo FROM shown WHERE participant = ? AND photo NOT IN "
                "(SELECT photo FROM votes WHERE participant = ?) ORDER BY shown_at",
                (participant, participant),
            ).fetchall()
            seen = {scene_of(path) for _, path in answered}
            remaining = len({p.scene for p in photos.photos if p.scene not in seen})
            for (photo_id,) in pending:
                if photo_id in photos.by_id:
                    return photos.by_id[photo_id], len(answered), remaining
            photo = _choose(db, answered, photos, rng)
            if photo is not None:
                db.execute(
                    "INSERT OR REPLACE INTO shown VALUES (?, ?, ?)",
                    (participant, photo.id, time.time()),
                )
            return photo, len(answered), remaining

    def first_photo(self, photos, rng=random):
        """The photo to show a visitor who has not voted yet, chosen as `next_photo`
        does; reads only (the caller remembers what it showed, in a signed cookie).

        Returns:
            (Photo or None when there are no photos, 0, remaining).
        """
        with contextlib.closing(self.connect()) as db:
            return _choose(db, [], photos, rng), 0, photos.scene_count

    def vote(self, participant, photo_id, natural, response_ms, photos, first=None):
        """Records one answer in one transaction; returns the participant's count.

        Args:
            first: For a visitor's first vote, (the photo shown to them, when, their
                user agent): `participant` (a `new_participant_id()`) is made in the
                same transaction, unless it is already known.

        Raises:
            Refused: an unknown participant (403) or photo (404), a photo not shown
                to this participant or already answered (409); nothing is written.
        """
        photo = photos.by_id.get(photo_id)
        if photo is None:
            raise Refused(404, "unknown photo")
        with self.transaction() as db:
            if first is not None and not _known(db, participant):
                shown_photo, shown_at, user_agent = first
                if shown_photo != photo.id:
                    raise Refused(409, "this photo was not shown to you")
                _add_participant(db, participant, user_agent)
                db.execute(
                    "INSERT INTO shown VALUES (?, ?, ?)",
                    (participant, photo.id, min(shown_at, time.time())),
                )
            _check_participant(db, participant)
            shown = db.execute(
                "SELECT shown_at FROM shown WHERE participant = ? AND photo = ?",
                (participant, photo.id),
            ).fetchone()
            if shown is None:
                raise Refused(409, "this photo was not shown to you")
            if db.execute(
                "SELECT 1 FROM votes WHERE participant = ? AND photo = ?",
                (participant, photo.id),
            ).fetchone():
                raise Refused(409, "you have already answered this photo")
            now = time.time()
            db.execute(
                "INSERT INTO votes (participant, photo, source, path, natural, "
                "response_ms, server_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    participant,
                    photo.id,
                    photo.source,
                    photo.path,
                    int(natural),
                    int(response_ms),
                    round(1000 * (now - shown[0])),
                    now,
                ),
            )
            return db.execute(
                "SELECT COUNT(*) FROM votes WHERE participant = ?", (participant,)
            ).fetchone()[0]


def new_participant_id():
    """A random participant id (kept in a signed cookie, never shown)."""
    return secrets.token_urlsafe(16)


def _choose(db, answered, photos, rng):
    """Among the scenes not in `answered` ((source, path) pairs), the source answered
    least (ties at random), and in it a photo of a scene the fewest sources show, with
    the fewest votes (ties at random); None if none."""
    seen = {scene_of(path) for _, path in answered}
    eligible = [p for p in photos.photos if p.scene not in seen]
    if not eligible:
        return None
    per_source = {s: 0 for s in photos.sources}
    for source, _ in answered:
        per_source[source] = per_source.get(source, 0) + 1
    least = min(per_source[p.source] for p in eligible)
    source = rng.choice(
        sorted({p.source for p in eligible if per_source[p.source] == least})
    )
    votes = dict(db.execute("SELECT photo, COUNT(*) FROM votes GROUP BY photo"))
    candidates = [p for p in eligible if p.source == source]

    def rank(photo):  # a scene few sources show is kept for them
        return photos.scene_sources[photo.scene], votes.get(photo.id, 0)

    best = min(rank(p) for p in candidates)
    return rng.choice([p for p in candidates if rank(p) == best])


def _add_participant(db, participant, user_agent):
    db.execute(
        "INSERT INTO participants VALUES (?, ?, ?)",
        (participant, time.time(), user_agent[:300]),
    )


def _known(db, participant):
    return bool(participant) and bool(
        db.execute("SELECT 1 FROM participants WHERE id = ?", (participant,)).fetchone()
    )


def _check_participant(db, participant):
    if not _known(db, participant):
        raise Refused(403, "unknown participant: open /survey to take part")
