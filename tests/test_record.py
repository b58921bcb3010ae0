"""A record in every file: outputs keep the input's metadata that still holds and
say, machine-readably, that their colour is machine-made (read back with Pillow)."""

import hashlib
import json
import struct
from xml.sax.saxutils import escape

import numpy as np
import pytest
from PIL import Image, ImageCms

import infer
from colorization.hints import user_hints
from colorization.inference import image_io, record
from colorization.inference.colorizer import Colorizer
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model
from tests.test_video import ffmpeg, write_clip

CAPTION = "Grandma at the lake & <the> dog"
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>'
    '<rdf:Alt><rdf:li xml:lang="x-default">Grandma at the lake &amp; &lt;the&gt; dog'
    "</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
).encode()
DPI = (300, 200)  # x, y of the stored photo; (200, 300) once turned upright
PHOTOS = ("a.jpg", "b.png", "c.tif", "d.webp")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "warm.keras"
    save_model(constant_ab_model(0.15, 0.25, stride=4), path, ModelFacts(image_size=64))
    return str(path)


def run(args, model_path):
    return infer.main(args + ["--model", model_path, "--quiet", "--size", "64"])


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def camera_exif():
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Kodak", "Retina", 6
    exif.get_ifd(0x8769)[0x9003] = "1950:07:14 15:30:00"
    return exif


def iptc(caption, keywords):
    """An IPTC IIM block: caption (2:120), keywords (2:25), UTF-8 (1:90)."""

    def dataset(record_number, number, data):
        return (
            bytes([0x1C, record_number, number]) + struct.pack(">H", len(data)) + data
        )

    block = dataset(1, 90, b"\x1b%G") + dataset(2, 120, caption.encode())
    return block + b"".join(dataset(2, 25, word.encode()) for word in keywords)


def with_iptc(jpeg, block):
    """A JPEG file's bytes with a Photoshop APP13 segment holding an IPTC block."""
    resource = b"8BIM" + struct.pack(">HHI", 0x0404, 0, len(block)) + block
    payload = b"Photoshop 3.0\0" + resource + b"\0" * (len(block) % 2)
    return (
        jpeg[:2]
        + b"\xff\xed"
        + struct.pack(">H", len(payload) + 2)
        + payload
        + jpeg[2:]
    )


def srgb_profile():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def write_inputs(folder):
    """JPEG (EXIF, XMP, IPTC keywords, ICC), PNG (EXIF, XMP, text), TIFF (EXIF, IPTC
    caption, no XMP) and WebP (EXIF, XMP) photos of 64 x 48, stored turned (EXIF
    orientation 6)."""
    folder.mkdir()
    image = Image.fromarray(photo("astronaut", (64, 48)))
    exif = camera_exif()
    jpeg = encode(
        image, "JPEG", exif=exif, xmp=XMP, dpi=DPI, icc_profile=srgb_profile()
    )
    (folder / "a.jpg").write_bytes(with_iptc(jpeg, iptc("ignored", ["lake", "dog"])))
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Title", "Summer")
    image.save(folder / "b.png", exif=exif, pnginfo=info, dpi=DPI)
    tiff_exif = Image.Exif()
    tiff_exif.load(exif.tobytes())
    tiff_exif[33723] = iptc(CAPTION, ["tiff"])
    image.save(folder / "c.tif", exif=tiff_exif, dpi=DPI)
    image.save(folder / "d.webp", exif=exif, xmp=XMP)


def xmp_text(image):
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if xmp is None and image.format == "TIFF":
        xmp = image.tag_v2.get(700)
    return xmp.decode() if isinstance(xmp, bytes) else xmp


def test_outputs_keep_what_holds_and_say_the_colour_is_machine_made(
    tmp_path, model_path
):
    write_inputs(tmp_path / "album")
    assert run([str(tmp_path / "album"), "--compare"], model_path) == 0
    out = tmp_path / "album_colorized"
    for name in PHOTOS + tuple(n.replace(".", "_compare.") for n in PHOTOS):
        with Image.open(out / name) as image:
            exif = image.getexif()
            assert (exif.get(0x010F), exif.get(0x0110)) == ("Kodak", "Retina"), name
            assert exif.get_ifd(0x8769).get(0x9003) == "1950:07:14 15:30:00", name
            assert 0x0112 not in exif, name  # applied: the pixels are upright
            assert image.size[1] == 64, name  # 64 x 48 stored, turned
            if image.format != "WEBP":
                assert np.allclose(image.info["dpi"], (200, 300), atol=0.01), name
            xmp = xmp_text(image)
            assert escape(CAPTION) in xmp, name  # the XMP's, or the IPTC caption
            assert record.DIGITAL_SOURCE_TYPE in xmp
        note = record.read_record(out / name)
        assert note["machine_colorized"] is True
        assert note["models"] == [{"name": "warm.keras", "sha256": sha256(model_path)}]
        assert (note["size"], note["quality"]) == (64, "fast")
        assert note["software"] == f"keras-colorization {record.package_version()}"
    with Image.open(out / "a.jpg") as image:
        with Image.open(tmp_path / "album" / "a.jpg") as source:
            assert image.info["icc_profile"] == source.info["icc_profile"]
        assert "<rdf:li>lake</rdf:li><rdf:li>dog</rdf:li>" in xmp_text(image)
        assert "ignored" not in xmp_text(image)  # the XMP caption wins over IPTC's
    with Image.open(out / "b.png") as image:
        assert json.loads(image.info["colorization"]) == record.read_record(
            out / "b.png"
        )
        assert image.info["Title"] == "Summer"


def test_no_record_writes_none_of_it(tmp_path, model_path):
    write_inputs(tmp_path / "album")
    assert run([str(tmp_path / "album"), "--no-record"], model_path) == 0
    for name in PHOTOS:
        path = tmp_path / "album_colorized" / name
        assert record.read_record(path) is None
        with Image.open(path) as image:
            assert image.size == (48, 64)
            assert not {"xmp", "icc_profile", "colorization", "exif", "Title"} & set(
                image.info
            ), name
            assert 0x010F not in image.getexif() and 700 not in image.getexif()


def test_record_holds_the_hints(tmp_path, model_path):
    hinted = tmp_path / "hinted.keras"
    from tests.inference_helpers import hint_oracle_model

    save_model(hint_oracle_model(), hinted, ModelFacts(image_size=64))
    (tmp_path / "p.jpg").write_bytes(encode(photo("coffee", (48, 32)), "JPEG"))
    hints = [{"x": 10, "y": 5, "color": "#d04020"}]
    (tmp_path / "h.json").write_text(json.dumps(hints))
    args = [str(tmp_path / "p.jpg"), "--hints", str(tmp_path / "h.json")]
    args += ["--output", str(tmp_path / "out")]
    assert infer.main(args + ["--model", str(hinted), "--quiet"]) == 0
    note = record.read_record(tmp_path / "out" / "p.jpg")
    assert note["hints"] == hints
    assert note["models"][0]["sha256"] == sha256(hinted)


def test_video_gets_the_record_and_keeps_its_tags(tmp_path, model_path):
    from tests.test_video import pan_frames

    clip = write_clip(tmp_path / "clip.avi", pan_frames(10))
    source = tmp_path / "film.mp4"
    ffmpeg("-i", clip, "-c:v", "libx264", "-metadata", "title=Lake 1950", source)
    assert run([str(source)], model_path) == 0
    target = tmp_path / "film_colorized.mp4"
    note = record.read_record(target)
    assert note["machine_colorized"] is True
    assert note["models"][0]["sha256"] == sha256(model_path)
    import subprocess

    from colorization.inference import video_io

    dump = subprocess.run(
        [video_io.ffmpeg_exe(), "-v", "error", "-i", str(target)]
        + ["-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
    ).stdout
    tags = record.ffmetadata(dump)
    assert tags["title"] == "Lake 1950"
    assert tags["description"] == record.note(note)
    assert (
        run(
            [str(source), "--no-record", "--output", str(tmp_path / "no.mp4")],
            model_path,
        )
        == 0
    )
    assert record.read_record(tmp_path / "no.mp4") is None


def test_make_record(model_path):
    loaded = Colorizer.load(model_path, size=64)
    hints = user_hints.parse_hints([(3, 4, "#102030")])
    guide = {"palette": ["#7a2f1c"], "strength": 0.7}
    note = record.make_record(
        loaded, hints=hints, guide=guide, quality="best", extra={"note": "x"}
    )
    assert list(note) == [
        "software",
        "machine_colorized",
        "models",
        "size",
        "blend",
        "temperature",
        "quality",
        "hints",
        "guide",
        "created",
        "note",
    ]
    assert note["models"] == [{"name": "warm.keras", "sha256": sha256(model_path)}]
    assert note["hints"] == [{"x": 3, "y": 4, "color": "#102030"}]
    assert (note["guide"], note["quality"], note["size"]) == (guide, "best", 64)
    assert note["created"].endswith("Z")
    assert json.loads(json.dumps(note)) == note  # plain JSON
    plain = record.make_record(Colorizer([constant_ab_model(0.1, 0.1)], size=32))
    assert plain["models"] == [{"name": plain["models"][0]["name"]}]
    assert "hints" not in plain and "guide" not in plain


def test_a_folder_run_hashes_each_model_once(model_path, monkeypatch):
    record._HASHES.clear()
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    for _ in range(3):
        record.file_sha256(model_path)
    assert opened.count(model_path) == 1


def test_read_record_of_plain_files_is_none(tmp_path):
    for name, fmt in [("x.jpg", "JPEG"), ("x.png", "PNG"), ("x.gif", "GIF")]:
        (tmp_path / name).write_bytes(encode(photo("coffee", (16, 16)), fmt))
        assert record.read_record(tmp_path / name) is None
    with pytest.raises(FileNotFoundError):
        record.read_record(tmp_path / "missing.jpg")


def test_animations_carry_the_record(tmp_path):
    note = {"software": "keras-colorization 9", "machine_colorized": True}
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (40, 200)]
    metadata = record.Metadata(record.Kept(), note)
    for name in ("a.gif", "a.png", "a.webp"):
        image_io.write_animation(tmp_path / name, frames, [100, 100], 0, None, metadata)
        assert record.read_record(tmp_path / name) == note, name
        with Image.open(tmp_path / name) as image:
            assert image.n_frames == 2


def test_xmp_keeps_the_input_packet_and_one_record():
    first = record.build_xmp(XMP, {}, {"software": "s 1", "models": [], "n": 1})
    again = record.build_xmp(first, {}, {"software": "s 1", "models": [], "n": 2})
    assert again.count(b"<colorization:record>") == 1
    assert record.record_from_xmp(again)["n"] == 2
    assert b"Grandma at the lake" in again
    assert b"Colorized by" not in again  # the input's description is kept alone
    turned = XMP.replace(
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"',
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"',
    )
    assert b"Orientation" in turned
    assert b"Orientation" not in record.build_xmp(turned, {}, None)  # applied
    broken = record.build_xmp(b"<x:xmpmeta><unclosed>", {}, {"software": "s", "n": 3})
    assert record.record_from_xmp(broken)["n"] == 3  # a fresh packet


def test_a_jpeg_too_small_for_the_hints_keeps_their_count(tmp_path):
    hints = [{"x": i, "y": i, "color": "#102030"} for i in range(1000)]
    note = {"software": "s", "models": [], "hints": hints, "pad": "x" * 40_000}
    image_io.write_image(
        tmp_path / "x.jpg",
        np.zeros((8, 8, 3), np.uint8),
        metadata=record.Metadata(record.Kept(), note),
    )
    read = record.read_record(tmp_path / "x.jpg")
    assert read["hints_count"] == 1000 and "hints" not in read
