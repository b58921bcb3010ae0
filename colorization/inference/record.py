"""A record in every file: the input's metadata that still holds, and a note that
the colour is machine-made.

    kept = kept_metadata("grandma.jpg")  # EXIF date and camera, captions, ICC, DPI
    note = make_record(colorizer, hints=hints)  # model SHA-256, size, blend, ...
    image_io.write_image("out.jpg", rgb, metadata=Metadata(kept, note))
    read_record("out.jpg")  # -> the note, a dict (None for a file without one)

What is kept: the EXIF date, camera, exposure, artist, copyright, description,
resolution and GPS position (not the orientation, already applied to the pixels, nor
thumbnails or maker notes); the XMP packet; IPTC and PNG text (caption, title,
creator, keywords, rights), copied into XMP where the XMP lacks them; an RGB ICC
profile; the DPI. What is added: the record as JSON, in XMP under the
`colorization` namespace (`NAMESPACE`) in JPEG, TIFF and WebP, in an iTXt chunk
`colorization` (and the XMP) in PNG, in a comment in GIF, and in the `comment` tag of
an MP4 (`video_tags`), with the IPTC digital source type for edits by a trained
model. Pillow writes it all; the XMP is parsed with the standard library.
"""

import dataclasses
import datetime
import hashlib
import json
import os
import re
import subprocess
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from data_pipeline import files

PACKAGE = "keras-colorization"
NAMESPACE = "https://github.com/keras-colorization/ns/1.0/"
PREFIX = "colorization"
PNG_KEY = "colorization"  # the iTXt chunk holding the record's JSON
PNG_XMP_KEY = "XML:com.adobe.xmp"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC = "http://purl.org/dc/elements/1.1/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_TIFF = "http://ns.adobe.com/tiff/1.0/"
_MAX_XMP_IN = 1 << 20  # a larger input packet is not kept
_MAX_JPEG_XMP = 65_000  # an APP1 segment holds 65,504 bytes of XMP
_MAX_JPEG_EXIF = 65_000
_ORIENTATION = 0x0112
_XMP_TAG = 700  # of a TIFF
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_RESOLUTION = (0x011A, 0x011B, 0x0128)
# IFD0: description, make, model, resolution, artist, Windows title/comment/author/
# keywords/subject, copyright. Not the orientation, the file's own date or structure.
_KEPT_IFD0 = {0x010E, 0x010F, 0x0110, *_RESOLUTION, 0x013B, 0x8298}
_KEPT_IFD0 |= {0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F}
# Exif IFD: its version, exposure, dates and time zones, user comment, flash, focal
# length, lens, owner and body serial. Not pixel sizes, colour space, maker notes or
# unique ids.
_KEPT_EXIF = {0x829A, 0x829D, 0x8822, 0x8827, 0x9000, 0x9003, 0x9004, 0x9010, 0x9011}
_KEPT_EXIF |= {0x9012, 0x9201, 0x9202, 0x9204, 0x9207, 0x9209, 0x920A, 0x9286}
_KEPT_EXIF |= {0x9290, 0x9291, 0x9292, 0xA405, 0xA430, 0xA431, 0xA433, 0xA434}
_IPTC = {  # IPTC IIM dataset -> kept text
    (2, 5): "title",
    (2, 25): "keywords",
    (2, 80): "creators",
    (2, 116): "rights",
    (2, 120): "description",
}
_PNG_TEXT = {
    "Title": "title",
    "Author": "creators",
    "Description": "description",
    "Copyright": "rights",
    "Comment": "comment",
    "Creation Time": "created",
}
_LISTS = ("creators", "keywords")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HASHES = {}  # (path, mtime_ns, size) -> sha256


@dataclasses.dataclass
class Kept:
    """The metadata of an input that still holds for its colorized output.

    `exif` is a filtered `PIL.Image.Exif` (or None); `xmp` the input's XMP packet;
    `text` its captions as `title`, `description`, `rights`, `comment`, `created`
    (strings) and `creators`, `keywords` (lists); `icc_profile` an RGB profile;
    `dpi` (x, y) as the output is shown (after the orientation).
    """

    exif: object = None
    xmp: bytes | None = None
    text: dict = dataclasses.field(default_factory=dict)
    icc_profile: bytes | None = None
    dpi: tuple | None = None


@dataclasses.dataclass
class Metadata:
    """What an output file carries: the input's `Kept` metadata and the record
    (`make_record`; None for none). `image_io.write_image` embeds it."""

    kept: Kept = dataclasses.field(default_factory=Kept)
    record: dict | None = None

    def save_options(self, fmt):
        """The Pillow `save` options that embed it in a file of format `fmt` (still
        or animated: Pillow takes the same)."""
        kept, options = self.kept, {}
        if kept.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
            options["dpi"] = kept.dpi
        if kept.icc_profile and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
            options["icc_profile"] = kept.icc_profile
        if kept.text.get("comment") and fmt == "JPEG":
            options["comment"] = kept.text["comment"].encode("utf-8")
        if fmt == "GIF":
            if self.record is not None:
                options["comment"] = _json(self.record).encode()
            return options
        if fmt not in ("JPEG", "PNG", "TIFF", "WEBP"):
            return options
        xmp = self.xmp(_MAX_JPEG_XMP if fmt == "JPEG" else None)
        if fmt == "TIFF":  # Pillow takes the XMP of a TIFF as a tag of its EXIF
            from PIL import Image

            exif = Image.Exif()  # loaded from bytes, as Pillow writes sub-IFDs then
            exif.load(_exif_copy(kept.exif, _RESOLUTION if kept.dpi else ()).tobytes())
            if xmp:
                exif[_XMP_TAG] = xmp
            if len(exif):
                options["exif"] = exif
            return options
        exif = _exif_copy(kept.exif).tobytes() if kept.exif is not None else None
        if exif and (fmt != "JPEG" or len(exif) <= _MAX_JPEG_EXIF):
            options["exif"] = exif
        if fmt == "PNG":
            info = self._png_info(xmp)
            if info.chunks:
                options["pnginfo"] = info
        elif xmp:
            options["xmp"] = xmp
        return options

    def xmp(self, limit=None):
        """The XMP packet (bytes): the input's, with its IPTC/PNG text where it had
        none and the record; within `limit` bytes if given (the record's hints are
        left out, then the input's packet, to fit). None for nothing to write."""
        if self.kept.xmp is None and self.record is None and not self.kept.text:
            return None
        record = self.record
        trials = [(self.kept.xmp, record)]
        if record is not None and record.get("hints"):
            record = _without_hints(record)
            trials.append((self.kept.xmp, record))
        trials.append((None, record))
        for packet, note in trials:
            xmp = build_xmp(packet, self.kept.text, note)
            if limit is None or len(xmp) <= limit:
                return xmp
        return None

    def _png_info(self, xmp):
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        text = self.kept.text
        for key, name in _PNG_TEXT.items():
            value = text.get(name)
            if value:
                info.add_itxt(key, "; ".join(value) if name in _LISTS else value)
        if self.record is not None:
            info.add_itxt(PNG_KEY, _json(self.record))
        if xmp:
            info.add_itxt(PNG_XMP_KEY, xmp.decode("utf-8"))
        return info


# Reading what an input holds.


def kept_metadata(source):
    """What of a photo's metadata still holds for its colorized version: a `Kept`.

    Args:
        source: the photo's path or an open PIL image.

    Missing pieces are simply absent; a file Pillow cannot read gives an empty
    `Kept` (the photo itself is read, and its errors reported, elsewhere).
    """
    from PIL import Image

    if not isinstance(source, (str, bytes, os.PathLike)):
        return _kept(source)
    try:
        with Image.open(source) as image:
            return _kept(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return Kept()


def _kept(image):
    """`kept_metadata` of an open PIL image."""
    exif, orientation = _exif(image)
    dpi = _dpi(image.info.get("dpi"), orientation)
    icc = image.info.get("icc_profile")
    return Kept(
        exif=exif,
        xmp=_xmp_of(image),
        text={**_png_text(image), **_jpeg_comment(image), **_iptc_text(image)},
        icc_profile=icc if isinstance(icc, bytes) and icc[16:20] == b"RGB " else None,
        dpi=dpi,
    )


def _exif(image):
    """(the kept EXIF tags as a new `Image.Exif`, or None; the orientation)."""
    from PIL import Image

    if image.format == "PNG" and "exif" not in image.info:
        return None, 1  # would decode the whole image to look after it
    try:
        source = image.getexif()
        kept = Image.Exif()
        for tag in _KEPT_IFD0 & set(source):
            kept[tag] = source[tag]
        for ifd, tags in ((_EXIF_IFD, _KEPT_EXIF), (_GPS_IFD, None)):
            values = source.get_ifd(ifd) if ifd in source else {}
            wanted = {t: v for t, v in values.items() if tags is None or t in tags}
            if wanted:
                kept.get_ifd(ifd).update(wanted)
        orientation = source.get(_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, EOFError):
        return None, 1  # a damaged EXIF block is not kept
    has_any = len(kept) or any(kept.get_ifd(i) for i in (_EXIF_IFD, _GPS_IFD))
    return (kept if has_any else None), orientation


def _exif_copy(exif, drop=()):
    """A new `Image.Exif` with the tags of a kept one (None: none) but `drop`."""
    from PIL import Image

    copy = Image.Exif()
    if exif is None:
        return copy
    for tag in set(exif) - set(drop) - {_EXIF_IFD, _GPS_IFD}:
        copy[tag] = exif[tag]
    for ifd in (_EXIF_IFD, _GPS_IFD):
        if exif.get_ifd(ifd):
            copy.get_ifd(ifd).update(exif.get_ifd(ifd))
    return copy


def _dpi(dpi, orientation):
    """The DPI as (x, y) of the output, whose sides the orientation may have swapped."""
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if not (x > 0 and y > 0):
        return None
    return (y, x) if orientation in (5, 6, 7, 8) else (x, y)


def _xmp_of(image):
    """The XMP packet an open image holds (bytes), or None."""
    xmp = image.info.get("xmp") or image.info.get(PNG_XMP_KEY)
    if xmp is None and image.format == "TIFF":
        xmp = getattr(image, "tag_v2", {}).get(_XMP_TAG)
    if isinstance(xmp, tuple):  # a TIFF tag of BYTE values
        xmp = bytes(xmp)
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if not isinstance(xmp, bytes) or len(xmp) > _MAX_XMP_IN:
        return None
    return xmp.rstrip(b"\0")


def _iptc_text(image):
    """The captions, keywords and creator of an IPTC block, as `Kept.text`."""
    from PIL import IptcImagePlugin

    try:
        info = IptcImagePlugin.getiptcinfo(image) or {}
    except (OSError, SyntaxError, ValueError, TypeError, IndexError):
        return {}
    text = {}
    for key, name in _IPTC.items():
        values = info.get(key)
        if values is None:
            continue
        values = [_decode(v) for v in _as_list(values)]
        values = [v for v in values if v]
        if values:
            text[name] = values if name in _LISTS else values[0]
    return text


def _png_text(image):
    """The standard text chunks of a PNG (title, author, ...), as `Kept.text`."""
    if image.format != "PNG":
        return {}
    text = {}
    for key, name in _PNG_TEXT.items():
        value = image.info.get(key)
        if isinstance(value, str) and value.strip():
            text[name] = [value] if name in _LISTS else value
    return text


def _jpeg_comment(image):
    """A JPEG's comment (COM segment) as `Kept.text`."""
    comment = image.info.get("comment") if image.format == "JPEG" else None
    text = _decode(comment) if isinstance(comment, bytes) else ""
    return {"comment": text} if text else {}


def _as_list(values):
    return values if isinstance(values, list) else [values]


def _decode(value):
    """IPTC or comment bytes as text: UTF-8 if they decode (as they do when the block
    says it is UTF-8), else Latin-1 (which decodes any bytes)."""
    if not isinstance(value, bytes):
        return str(value).strip()
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


# The record.


def make_record(colorizer, *, hints=None, guide=None, quality=None, extra=None):
    """The machine-readable note that a file's colour is machine-made: a plain dict.

    Args:
        colorizer: the `Colorizer` that made the colour (its models, their SHA-256
            when it was loaded from files, size, blend and temperature).
        hints: the colour hints used (`user_hints.Hints` or what `parse_hints`
            takes), if any.
        guide: the reference/palette guide, if any: a dict (kept verbatim) or a
            `guidance.Guide` (its `describe()`).
        quality: "fast" or "best" (default: the colorizer's).
        extra: more keys to add.
    """
    record = {
        "software": f"{PACKAGE} {package_version()}",
        "machine_colorized": True,
        "models": _models(colorizer),
        "size": int(colorizer.size),
        "blend": _number(colorizer.blend),
        "temperature": _number(colorizer.temperature),
        "quality": quality or colorizer.quality,
    }
    if hints is not None and len(hints):
        record["hints"] = _hints_json(hints)
    if guide is not None:
        record["guide"] = guide.describe() if hasattr(guide, "describe") else guide
    record["created"] = (
        datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )
    record.update(extra or {})
    return record


def package_version():
    """This package's installed version ("unknown" when it is not installed)."""
    import importlib.metadata

    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _models(colorizer):
    """Each model as {"name", "sha256"} (its file's), or {"name"} for one not loaded
    from a file."""
    paths = getattr(colorizer, "model_paths", None) or []
    if paths:
        return [
            {"name": os.path.basename(path), "sha256": file_sha256(path)}
            for path in paths
        ]
    return [
        {"name": str(getattr(m, "name", "model"))}
        for m in getattr(colorizer, "models", [])
    ]


def file_sha256(path):
    """The SHA-256 (hex) of a file, read in 1 MiB chunks; cached by path, modification
    time and size, so a folder run hashes each model once."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _number(value):
    return None if value is None else float(value)


def _hints_json(hints):
    """Hints as the JSON list of infer.py --hints."""
    from colorization.hints import user_hints

    if hasattr(hints, "to_json"):
        return hints.to_json()
    if isinstance(hints, list) and all(isinstance(h, dict) for h in hints):
        return hints  # already the JSON form (a video's hints name their frames)
    return user_hints.parse_hints(hints).to_json()


def _without_hints(record):
    """The record with its hints list replaced by their count (to fit a JPEG)."""
    smaller = {k: v for k, v in record.items() if k != "hints"}
    smaller["hints_count"] = len(record["hints"])
    return smaller


def _json(record):
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


def note(record):
    """The record in one readable sentence (the description of a file without one)."""
    return f"Colorized by {record['software']}: the colours are machine-made."


# XMP.

_FRESH = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    f' <rdf:RDF xmlns:rdf="{_RDF}">\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)
_RDF_END = re.compile(r"</(?:[\w.-]+:)?RDF\s*>")
_OURS = re.compile(  # the Description of a record written before (this run's input)
    rf'<rdf:Description\b[^>]*xmlns:{PREFIX}="{re.escape(NAMESPACE)}"[^>]*>'
    r".*?</rdf:Description>\s*",
    re.S,
)


def build_xmp(packet, text=None, record=None):
    """An XMP packet (UTF-8 bytes): `packet` (the input's, kept; a new one if None
    or unreadable) with the `text` it lacks (`Kept.text`) and the `record`."""
    source = _parsed_packet(packet)
    base = _FRESH if source is None else source[0]
    present = set() if source is None else source[1]
    blocks = _text_block(text or {}, present)
    if record is not None:
        present |= _properties(blocks)
        blocks += _record_block(record, present)
    if not blocks:
        return base.encode("utf-8")
    end = list(_RDF_END.finditer(base))[-1]
    xmp = base[: end.start()] + blocks + base[end.start() :]
    try:
        ElementTree.fromstring(_body(xmp))
    except ElementTree.ParseError:
        return build_xmp(None, text, record) if source is not None else b""
    return xmp.encode("utf-8")


def _parsed_packet(packet):
    """(the input's packet as text, without a record of ours; the properties it
    holds) or None for no packet or one that is not XMP we can add to."""
    if not packet:
        return None
    try:
        text = packet.decode("utf-8") if isinstance(packet, bytes) else packet
        text = _without_orientation(_OURS.sub("", text))
        if not _RDF_END.search(text):
            return None
        return text, _properties_of(ElementTree.fromstring(_body(text)))
    except (UnicodeDecodeError, ElementTree.ParseError, ValueError):
        return None


def _without_orientation(text):
    """A packet without its tiff:Orientation (already applied to the pixels)."""
    quoted = r"\s*=\s*[\"']" + re.escape(_TIFF)
    for prefix in set(re.findall(r"xmlns:([\w.-]+)" + quoted, text)):
        name = re.escape(prefix) + ":Orientation"
        text = re.sub(rf"<{name}\b[^>]*>[^<]*</{name}>\s*", "", text)
        text = re.sub(rf"<{name}\b[^>]*/>\s*", "", text)
        text = re.sub(rf"\s{name}\s*=\s*(\"[^\"]*\"|'[^']*')", "", text)
    return text


def _body(text):
    """The XML of a packet without the xpacket wrapper (and byte-order mark)."""
    return re.sub(r"<\?xpacket[^>]*\?>", "", text).strip().lstrip("\ufeff")


def _properties_of(root):
    """Every property name ("{namespace}name") in a parsed packet."""
    names = set()
    for element in root.iter():
        names.add(element.tag)
        names.update(element.attrib)
    return names


def _properties(blocks):
    if not blocks:
        return set()
    root = ElementTree.fromstring(f'<r xmlns:rdf="{_RDF}">{blocks}</r>')
    return _properties_of(root)


def _clean(value):
    return escape(_NOT_XML.sub("", str(value)))


def _alt(name, value):
    return (
        f'<{name}><rdf:Alt><rdf:li xml:lang="x-default">{_clean(value)}</rdf:li>'
        f"</rdf:Alt></{name}>"
    )


def _array(name, kind, values):
    items = "".join(f"<rdf:li>{_clean(v)}</rdf:li>" for v in values)
    return f"<{name}><rdf:{kind}>{items}</rdf:{kind}></{name}>"


def _description(namespaces, properties):
    declared = "".join(f" xmlns:{p}={quoteattr(u)}" for p, u in namespaces)
    return (
        f'  <rdf:Description rdf:about="" xmlns:rdf="{_RDF}"{declared}>\n'
        + "".join(f"   {p}\n" for p in properties)
        + "  </rdf:Description>\n"
    )


def _text_block(text, present):
    """A Description with the Dublin Core text the packet lacks."""
    wanted = [
        ("description", "Alt"),
        ("title", "Alt"),
        ("creators", "Seq"),
        ("keywords", "Bag"),
        ("rights", "Alt"),
    ]
    names = {"creators": "creator", "keywords": "subject"}
    properties = []
    for key, kind in wanted:
        name = names.get(key, key)
        if not text.get(key) or f"{{{_DC}}}{name}" in present:
            continue
        if kind == "Alt":
            properties.append(_alt(f"dc:{name}", text[key]))
        else:
            properties.append(_array(f"dc:{name}", kind, text[key]))
    return _description([("dc", _DC)], properties) if properties else ""


def _record_block(record, present):
    """The Description holding the record, a few readable parts of it, and the
    description, creator tool and digital source type if the packet has none."""
    p = PREFIX
    hashes = [m.get("sha256") or m.get("name", "") for m in record.get("models", [])]
    properties = [
        f"<{p}:machineColorized>True</{p}:machineColorized>",
        f"<{p}:software>{_clean(record.get('software', PACKAGE))}</{p}:software>",
        _array(f"{p}:modelSHA256", "Seq", hashes),
        f"<{p}:record>{_clean(_json(record))}</{p}:record>",
    ]
    if f"{{{_XMP}}}CreatorTool" not in present:
        properties.append(
            f"<xmp:CreatorTool>{_clean(record['software'])}</xmp:CreatorTool>"
        )
    if f"{{{_DC}}}description" not in present:
        properties.append(_alt("dc:description", note(record)))
    if f"{{{_IPTC_EXT}}}DigitalSourceType" not in present:
        properties.append(
            f"<Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}"
            "</Iptc4xmpExt:DigitalSourceType>"
        )
    namespaces = [
        (p, NAMESPACE),
        ("dc", _DC),
        ("xmp", _XMP),
        ("Iptc4xmpExt", _IPTC_EXT),
    ]
    return _description(namespaces, properties)


def record_from_xmp(packet):
    """The record a packet holds (a dict), or None."""
    try:
        text = packet.decode("utf-8") if isinstance(packet, bytes) else packet
        root = ElementTree.fromstring(_body(text))
    except (UnicodeDecodeError, ElementTree.ParseError, AttributeError, ValueError):
        return None
    for element in root.iter(f"{{{NAMESPACE}}}record"):
        return _loads(element.text)
    return None


def _loads(text):
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


# Videos.


def video_tags(record):
    """The MP4 metadata tags of a record: `comment` (its JSON) and `description`."""
    return {"comment": _json(record), "description": note(record)}


def _video_record(path):
    """The record in an MP4's `comment` tag, read with imageio-ffmpeg's FFmpeg."""
    from colorization.inference import video_io

    result = subprocess.run(
        [video_io.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
        + ["-i", path, "-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if result.returncode != 0:
        return None
    return _loads(ffmetadata(result.stdout).get("comment"))


def ffmetadata(text):
    """The global tags of FFmpeg's `-f ffmetadata` output, unescaped, as a dict."""
    tags, key, value, escaped = {}, None, [], False
    for line in text.splitlines(keepends=True):
        if key is None:
            if line.startswith((";", "#", "[")) or "=" not in line:
                if line.startswith("["):
                    break  # a stream or chapter section
                continue
            key, line = _unescape_key(line)
        for char in line:
            if escaped:
                value.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "\n":
                tags[key], key, value = "".join(value), None, []
                break
            else:
                value.append(char)
    if key is not None:
        tags[key] = "".join(value)
    return tags


def _unescape_key(line):
    """(the key, the rest after its unescaped `=`) of an ffmetadata line."""
    key, escaped = [], False
    for index, char in enumerate(line):
        if escaped:
            key.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=":
            return "".join(key), line[index + 1 :]
        else:
            key.append(char)
    return "".join(key), ""


# Reading a record back.


def read_record(path):
    """The record a colorized file holds (a dict), or None for a file without one.

    Reads the XMP of JPEG, TIFF and WebP files, the `colorization` iTXt chunk of PNG
    files, the comment of GIF files and the `comment` tag of videos.

    Raises:
        FileNotFoundError: no such file.
    """
    from PIL import Image

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    if files.is_video_name(path):
        return _video_record(path)
    try:
        with Image.open(path) as image:
            if isinstance(image.info.get(PNG_KEY), str):
                return _loads(image.info[PNG_KEY])
            if image.format == "GIF":
                comment = image.info.get("comment", b"")
                return _loads(comment.decode("utf-8", "replace"))
            xmp = _xmp_of(image)
    except (OSError, SyntaxError, ValueError, EOFError):
        return None
    return record_from_xmp(xmp) if xmp else None
