"""The web app in a real browser: Debian's headless Chromium, driven by Selenium, against
`python -m colorization.app` with the shipped model and a survey built by
`python -m colorization.cli.survey_set`, and with tiny models: a hinted one for colour
hints, an automatic one for the hint tools turned off (the shipped model may be either),
and a hinted two-head one (a bins head) for the guidance: a palette and a reference
photo, the uncertainty overlay, suggested spots and variants.

Screenshots go to $APP_SCREENSHOTS (default: the test's temporary folder). The README's
docs/app.png is the `app.png` of
`test_readme_screenshot_colour_hints_on_the_shipped_model` (the shipped model, which
must take hints); make it with this test alone, so that the other screenshots
(colorize.png, survey.png, results.png, oracle_hints.png) do not land in docs/:

    APP_SCREENSHOTS=docs python -m pytest -m slow \
        "tests/test_app_browser.py::test_readme_screenshot_colour_hints_on_the_shipped_model"
"""

import base64
import contextlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image

from colorization.app import results
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model, hint_oracle_model
from tests.test_app_guidance import two_heads_model
from tests.train_data import REPO


def same_pixels(first, second):
    """Whether two encoded images hold the same pixels (their records, made at
    different seconds, differ)."""
    decode = lambda data: np.asarray(Image.open(io.BytesIO(data)))  # noqa: E731
    return np.array_equal(decode(first), decode(second))


pytestmark = pytest.mark.slow

SAMPLE = os.path.join(REPO, "samples", "rocket.jpg")  # 640 x 427, black and white
SURVEY_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "cat", "retina")
SURVEY_TOKEN = "browser-test-admin-token"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, **kwargs
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on a free port of 127.0.0.1 with a 12-scene survey; (url, db path)."""
    root = tmp_path_factory.mktemp("app")
    colour = root / "colour"
    colour.mkdir()
    for name in SURVEY_PHOTOS:  # two scenes from each photo: its halves
        image = photo(name)
        half = image.shape[1] // 2
        for side, part in (("left", image[:, :half]), ("right", image[:, half:])):
            (colour / f"{name}_{side}.png").write_bytes(encode(part, "PNG"))
    built = _run(
        "-m", "colorization.cli.survey_set", str(colour), str(root / "set"),
        "--count", "12", "--max-side", "320", timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    db = str(root / "votes.sqlite3")
    args = ["--survey-images", str(root / "set"), "--survey-db", db]
    args += ["--survey-token", SURVEY_TOKEN]
    with _app(root, args) as url:
        yield url, db


@contextlib.contextmanager
def _app(root, args):
    """`python -m colorization.app ARGS` on a free port of 127.0.0.1: its URL."""
    port = _free_port()
    log = open(root / "server.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "colorization.app", "--port", str(port), *args],
        cwd=REPO,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        assert process.poll() is None, open(root / "server.log").read()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/health").status_code == 200:
                break
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(60)
        log.close()


@pytest.fixture(scope="module")
def served_hinted(tmp_path_factory):
    """The app with a hint 'oracle' model (grey without hints, the hint's colour on
    it), at network size 64: its URL."""
    root = tmp_path_factory.mktemp("hinted_app")
    model = root / "oracle.keras"
    hint_oracle_model().save(model)
    with _app(root, ["--model", str(model), "--size", "64"]) as url:
        yield url


@pytest.fixture(scope="module")
def served_automatic(tmp_path_factory):
    """The app with a tiny model that takes no hints (one colour everywhere), at
    network size 64: its URL."""
    root = tmp_path_factory.mktemp("automatic_app")
    model = root / "constant.keras"
    constant_ab_model(0.2, 0.1).save(model)
    with _app(root, ["--model", str(model), "--size", "64"]) as url:
        yield url


@pytest.fixture(scope="module")
def served_guided(tmp_path_factory):
    """The app with a tiny hinted two-head model (random weights, a bins head), at
    network size 64: its URL."""
    root = tmp_path_factory.mktemp("guided_app")
    model = root / "two_heads.keras"
    two_heads_model(hinted=True).save(model)
    with _app(root, ["--model", str(model), "--size", "64"]) as url:
        yield url


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        pytest.fail(
            "needs Debian's chromium and chromium-driver (.ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1120")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads)}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("APP_SCREENSHOTS") or str(tmp_path_factory.mktemp("shots"))
    os.makedirs(folder, exist_ok=True)
    return folder


def wait_for(condition, seconds=180, what="the page"):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# Mean chroma (max - min channel) of an <img>, read back through a canvas.
CHROMA = """
const img = arguments[0];
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(img, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
let sum = 0;
for (let i = 0; i < data.length; i += 4) {
  sum += Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]);
}
return sum / (data.length / 4);
"""


def card(browser, name):
    from selenium.webdriver.common.by import By

    for element in browser.find_elements(By.CSS_SELECTOR, ".card"):
        if element.find_element(By.CSS_SELECTOR, ".name").text == name:
            return element
    return None


def test_colorize_page_uploads_shows_colour_and_downloads(
    served, browser, downloads, shots, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = served
    browser.get(url + "/")
    wait_for(
        lambda: (
            "ok" in browser.find_element(By.ID, "server-status").get_attribute("class")
        )
    )
    tiff = tmp_path / "cat scan.tif"  # the browser cannot show TIFF: the server's grey
    tiff.write_bytes(encode(photo("chelsea", (300, 200)), "TIFF"))
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo\n" * 40)
    paths = [SAMPLE, str(tiff), str(bad)]
    browser.find_element(By.ID, "files").send_keys("\n".join(paths))
    names = ["rocket.jpg", "cat scan.tif", "notes.jpg"]
    wait_for(
        lambda: all(
            card(browser, n) and card(browser, n).get_attribute("data-state") in ("done", "failed")
            for n in names
        ),
        what="the results",
    )  # fmt: skip

    rocket = card(browser, "rocket.jpg")
    assert rocket.get_attribute("data-state") == "done"
    after = rocket.find_element(By.CSS_SELECTOR, "img.after")
    size = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", after)  # fmt: skip
    assert size == list(Image.open(SAMPLE).size) == [640, 427]
    assert "640 × 427" in rocket.find_element(By.CSS_SELECTOR, ".meta").text
    shown = after.size  # the page shows it whole, at its own aspect ratio
    assert abs(shown["width"] / shown["height"] - 640 / 427) < 0.01
    assert browser.execute_script(CHROMA, after) > 8  # colour, not grey
    slider = rocket.find_element(By.CSS_SELECTOR, ".slider")
    browser.execute_script(
        "arguments[0].value = 30; arguments[0].dispatchEvent(new Event('input'))",
        slider,
    )
    viewer = rocket.find_element(By.CSS_SELECTOR, ".viewer")
    assert browser.execute_script("return arguments[0].style.getPropertyValue('--pos')", viewer) == "30%"  # fmt: skip

    scan = card(browser, "cat scan.tif")
    assert scan.get_attribute("data-state") == "done"
    before = scan.find_element(By.CSS_SELECTOR, "img.before")
    wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", before) == 300)  # fmt: skip
    assert browser.execute_script(CHROMA, before) < 1.5  # the grey the network saw
    assert browser.execute_script(CHROMA, scan.find_element(By.CSS_SELECTOR, "img.after")) > 3  # fmt: skip

    # The hint tools follow the model: off, with a note, for a model without hints.
    hinted = httpx.get(url + "/api/health").json()["hints"]
    mode = rocket.find_element(By.CSS_SELECTOR, ".hint-mode")
    assert mode.is_displayed() and mode.is_enabled() == hinted
    note = rocket.find_element(By.CSS_SELECTOR, ".hints-note").text
    assert ("takes no colour hints" in note) == (not hinted)

    failed = card(browser, "notes.jpg")
    assert failed.get_attribute("data-state") == "failed"
    assert "not an image" in failed.find_element(By.CSS_SELECTOR, ".state").text
    assert "2 of 3 done · 1 failed" in browser.find_element(By.ID, "summary").text

    browser.execute_script(
        "arguments[0].value = 50; arguments[0].dispatchEvent(new Event('input')); scrollTo(0, 0)",
        slider,
    )  # fmt: skip
    browser.save_screenshot(os.path.join(shots, "colorize.png"))

    # The options apply to the photos added after them: size, blend and --compare.
    browser.find_element(By.CSS_SELECTOR, "#options summary").click()
    Select(browser.find_element(By.ID, "size")).select_by_value("320")
    browser.execute_script(
        "const blend = document.getElementById('blend'); blend.value = 0.8;"
        "blend.dispatchEvent(new Event('input'))"
    )
    browser.find_element(By.ID, "compare").click()
    chelsea = os.path.join(REPO, "samples", "chelsea.jpg")  # 451 x 300
    browser.find_element(By.ID, "files").send_keys(chelsea)
    wait_for(lambda: card(browser, "chelsea.jpg").get_attribute("data-state") == "done")
    link = card(browser, "chelsea.jpg").find_element(
        By.CSS_SELECTOR, ".download-compare"
    )
    assert (
        link.is_displayed() and link.get_attribute("download") == "chelsea_compare.jpg"
    )

    browser.find_element(By.ID, "download-all").click()
    archive = downloads / "colorized.zip"
    wait_for(lambda: archive.exists() and not list(downloads.glob("*.crdownload")), 60)
    with zipfile.ZipFile(archive) as zipped:
        assert zipped.testzip() is None
        assert sorted(zipped.namelist()) == [
            "cat scan_colorized.png",
            "chelsea_colorized.jpg",
            "chelsea_compare.jpg",
            "rocket_colorized.jpg",
        ]
        entries = {name: zipped.read(name) for name in zipped.namelist()}

    def direct(path, **fields):
        with open(path, "rb") as f:
            answer = httpx.post(
                url + "/api/colorize",
                files={"file": (os.path.basename(path), f)},
                data=fields,
                timeout=120,
            )
        assert answer.status_code == 200, answer.text
        return answer.content

    # What the page shows is what the API gives for the same options.
    assert same_pixels(entries["rocket_colorized.jpg"], direct(SAMPLE))
    options = {"size": "320", "blend": "0.8"}
    assert same_pixels(entries["chelsea_colorized.jpg"], direct(chelsea, **options))
    compare = direct(chelsea, output="compare", **options)
    assert same_pixels(entries["chelsea_compare.jpg"], compare)
    assert not same_pixels(entries["chelsea_colorized.jpg"], direct(chelsea))
    assert Image.open(io.BytesIO(entries["rocket_colorized.jpg"])).size == (640, 427)
    assert Image.open(io.BytesIO(entries["chelsea_compare.jpg"])).size == (902, 300)

    severe = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "status of 422" not in entry["message"]
    ]
    assert not severe


# The README's photo and its hints: (x, y) in pixels of samples/coffee.jpg (600 x 400)
# and the colour: the saucer red, the coffee brown, the table a light wood.
README_PHOTO = os.path.join(REPO, "samples", "coffee.jpg")
README_HINTS = ((110, 300, "#c02818"), (290, 140, "#7a4a28"), (520, 60, "#b07a40"))


def test_readme_screenshot_colour_hints_on_the_shipped_model(served, browser, shots):
    """docs/app.png: the page with three colour hints placed on a photo, colorized again
    by the shipped model (skipped while the shipped model takes no hints)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, _ = served
    if not httpx.get(url + "/api/health").json()["hints"]:
        pytest.skip("the shipped model takes no colour hints")
    browser.get(url + "/")
    wait_for(lambda: "ok" in browser.find_element(By.ID, "server-status").get_attribute("class"))  # fmt: skip
    browser.find_element(By.ID, "files").send_keys(README_PHOTO)
    wait_for(lambda: card(browser, "coffee.jpg").get_attribute("data-state") == "done")
    coffee = card(browser, "coffee.jpg")
    after = coffee.find_element(By.CSS_SELECTOR, "img.after")
    unhinted = browser.execute_async_script(BYTES, after)

    coffee.find_element(By.CSS_SELECTOR, ".hint-mode").click()
    width, height = Image.open(README_PHOTO).size
    for count, (x, y, colour) in enumerate(README_HINTS, 1):
        browser.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
            coffee.find_element(By.CSS_SELECTOR, ".hint-colour"),
            colour,
        )  # fmt: skip
        shown = after.size  # offsets from the centre of the photo as shown
        dx = (x + 0.5 - width / 2) * shown["width"] / width
        dy = (y + 0.5 - height / 2) * shown["height"] / height
        ActionChains(browser).move_to_element_with_offset(after, dx, dy).click().perform()  # fmt: skip
        wait_for(
            lambda count=count: (
                coffee.get_attribute("data-hints") == "idle"
                and coffee.find_element(By.CSS_SELECTOR, ".hints-state").text.startswith(f"{count} hint")
            ),
            what=f"the photo colorized with {count} hints",
        )  # fmt: skip

    items = coffee.find_elements(By.CSS_SELECTOR, ".hint-list li")
    placed = [(int(i.get_attribute("data-x")), int(i.get_attribute("data-y"))) for i in items]  # fmt: skip
    assert len(placed) == len(coffee.find_elements(By.CSS_SELECTOR, ".marker")) == 3
    for (x, y), (want_x, want_y, _) in zip(placed, README_HINTS):
        assert abs(x - want_x) <= 2 and abs(y - want_y) <= 2
    assert browser.execute_async_script(BYTES, after) != unhinted  # colorized again

    # A window tall enough for the header, the photo and the list of hints.
    card_bottom, frame = browser.execute_script(
        "scrollTo(0, 0); return [arguments[0].getBoundingClientRect().bottom,"
        " outerHeight - innerHeight]",
        coffee,
    )
    size = browser.get_window_size()
    try:
        browser.set_window_size(size["width"], int(card_bottom + 24 + frame))
        browser.execute_script("scrollTo(0, 0)")
        browser.save_screenshot(os.path.join(shots, "app.png"))
    finally:
        browser.set_window_size(size["width"], size["height"])
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_ten_survey_answers_and_the_results_page_match_the_database(
    served, browser, shots
):
    from selenium.webdriver.common.by import By

    url, db_path = served
    browser.get(url + "/survey")
    answers = []
    for i in range(10):
        wait_for(
            lambda: browser.find_element(By.ID, "yes").is_enabled(), what="a photo"
        )
        progress = browser.find_element(By.ID, "progress").text
        assert progress == f"photo {i + 1} of 12"
        image = browser.find_element(By.ID, "photo")
        assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
        if i == 0:
            browser.save_screenshot(os.path.join(shots, "survey.png"))
        natural = i % 3 != 1
        if i % 2:  # half by keyboard, half by clicking
            browser.find_element(By.TAG_NAME, "body").send_keys("y" if natural else "n")
        else:
            browser.find_element(By.ID, "yes" if natural else "no").click()
        answers.append(int(natural))
        following = f"photo {i + 2} of 12"
        wait_for(
            lambda following=following, last=i == 9: (
                last or browser.find_element(By.ID, "progress").text == following
            ),
            what="the next photo",
        )

    def stored():
        with contextlib.closing(sqlite3.connect(db_path)) as db:
            return db.execute("SELECT natural FROM votes ORDER BY id").fetchall()

    wait_for(lambda: len(stored()) == 10, 30, "the votes")
    assert [n for (n,) in stored()] == answers
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly
    browser.get(url + "/survey/results")
    assert "admin token" in browser.find_element(By.TAG_NAME, "body").text
    browser.get_log("browser")  # that 404 is expected: no later test should see it
    browser.get(url + "/survey/results?token=" + SURVEY_TOKEN)
    browser.save_screenshot(os.path.join(shots, "results.png"))
    shown = {
        row.get_attribute("data-source"): [
            td.text for td in row.find_elements(By.TAG_NAME, "td")
        ]
        for row in browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
    }
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        expected = db.execute(
            "SELECT source, COUNT(*), SUM(natural), COUNT(DISTINCT participant) "
            "FROM votes GROUP BY source"
        ).fetchall()
    assert set(shown) == {"real", "default"}
    for source, votes, natural, people in expected:
        share = results.percent(natural / votes)
        interval = results.interval_text(results.wilson_interval(natural, votes))
        assert shown[source] == [source, str(votes), str(natural), share, interval, "1"]
        assert people == 1
    assert sum(votes for _, votes, _, _ in expected) == 10
    assert (
        "10 answers from 1 participant." in browser.find_element(By.ID, "totals").text
    )
    assert np.abs(5 - np.array([v for _, v, _, _ in expected])).max() <= 1  # balanced


# Records which fields each fetch() sends (a re-colorization must not send the photo).
RECORD_FETCH = """
window.sentFields = [];
const original = window.fetch;
window.fetch = (url, options) => {
  if (options && options.body instanceof FormData) window.sentFields.push([...options.body.keys()]);
  return original(url, options);
};
"""


def test_hints_placed_on_the_photo_colour_it_and_download_as_json(
    served_hinted, browser, downloads, shots
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url = served_hinted
    browser.get(url + "/")
    wait_for(lambda: "ok" in browser.find_element(By.ID, "server-status").get_attribute("class"))  # fmt: skip
    browser.execute_script(RECORD_FETCH)
    browser.find_element(By.ID, "files").send_keys(SAMPLE)
    wait_for(lambda: card(browser, "rocket.jpg").get_attribute("data-state") == "done")
    rocket = card(browser, "rocket.jpg")
    after = rocket.find_element(By.CSS_SELECTOR, "img.after")
    assert browser.execute_script(CHROMA, after) < 0.5  # the oracle: no hint, no colour
    note = rocket.find_element(By.CSS_SELECTOR, ".hints-note").text
    assert "click the photo" in note

    mode = rocket.find_element(By.CSS_SELECTOR, ".hint-mode")
    mode.click()
    assert mode.get_attribute("aria-pressed") == "true"
    browser.execute_script(
        "const c = arguments[0]; c.value = '#2050e0'; c.dispatchEvent(new Event('input'))",
        rocket.find_element(By.CSS_SELECTOR, ".hint-colour"),
    )
    shown = after.size  # shown smaller than 640 x 427: click at a quarter and a third
    dx, dy = -shown["width"] / 4, -shown["height"] / 6  # from the centre
    ActionChains(browser).move_to_element_with_offset(after, dx, dy).click().perform()
    wait_for(lambda: rocket.get_attribute("data-hints") == "idle", what="the hints")
    chroma = browser.execute_script(CHROMA, after)
    assert chroma > 1  # a blue patch where the hint is, grey elsewhere
    items = rocket.find_elements(By.CSS_SELECTOR, ".hint-list li")
    assert (
        len(items) == 1 and len(rocket.find_elements(By.CSS_SELECTOR, ".marker")) == 1
    )
    x, y = (int(items[0].get_attribute(f"data-{axis}")) for axis in "xy")
    assert abs(x - 640 / 4) <= 3 and abs(y - 427 / 3) <= 3
    browser.save_screenshot(os.path.join(shots, "oracle_hints.png"))

    # The re-colorization named the photo the server keeps instead of sending it.
    sent = browser.execute_script("return window.sentFields")
    assert sent and all(
        "image_id" in f and "file" not in f and "hints" in f for f in sent
    )

    # The hints download as the JSON infer.py --hints reads, and give the same image.
    rocket.find_element(By.CSS_SELECTOR, ".hints-download").click()
    saved = downloads / "rocket_hints.json"
    wait_for(lambda: saved.exists() and not list(downloads.glob("*.crdownload")), 60)
    hints = json.loads(saved.read_text())
    assert hints == [{"x": x, "y": y, "color": "#2050e0"}]
    with open(SAMPLE, "rb") as f:
        direct = httpx.post(
            url + "/api/colorize",
            files={"file": ("rocket.jpg", f)},
            data={"hints": json.dumps(hints)},
            timeout=120,
        )
    assert direct.status_code == 200
    shown = base64.b64decode(browser.execute_async_script(BYTES, after))
    assert same_pixels(shown, direct.content)

    # Removing the hint brings the grey back.
    rocket.find_element(By.CSS_SELECTOR, ".remove-hint").click()
    wait_for(lambda: browser.execute_script(CHROMA, after) < 0.5, 60, "the grey")
    assert not rocket.find_elements(By.CSS_SELECTOR, ".hint-list li")
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


# The bytes of an <img>'s blob, base64.
BYTES = """
const done = arguments[arguments.length - 1];
fetch(arguments[0].src).then((r) => r.arrayBuffer()).then((buffer) => {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  done(btoa(text));
});
"""


def test_the_hint_tools_are_off_with_a_note_for_a_model_without_hints(
    served_automatic, browser
):
    from selenium.webdriver.common.by import By

    url = served_automatic
    assert httpx.get(url + "/api/health").json()["hints"] is False
    browser.get(url + "/")
    wait_for(lambda: "ok" in browser.find_element(By.ID, "server-status").get_attribute("class"))  # fmt: skip
    browser.find_element(By.ID, "files").send_keys(SAMPLE)
    wait_for(lambda: card(browser, "rocket.jpg").get_attribute("data-state") == "done")
    rocket = card(browser, "rocket.jpg")
    mode = rocket.find_element(By.CSS_SELECTOR, ".hint-mode")
    assert mode.is_displayed() and not mode.is_enabled()
    note = rocket.find_element(By.CSS_SELECTOR, ".hints-note").text
    assert "takes no colour hints" in note
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


SET_COLOUR = (
    "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))"
)


def _wait_recolorized(element, what):
    wait_for(lambda: element.get_attribute("data-hints") == "idle", what=what)


def _shown_hints(element):
    from selenium.webdriver.common.by import By

    return [
        {
            "x": int(item.get_attribute("data-x")),
            "y": int(item.get_attribute("data-y")),
            "color": item.find_element(By.CSS_SELECTOR, "input").get_attribute("value"),
        }
        for item in element.find_elements(By.CSS_SELECTOR, ".hint-list li")
    ]


def test_guidance_palette_reference_uncertainty_suggestions_and_variants(
    served_guided, browser, shots, tmp_path
):
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url = served_guided
    health = httpx.get(url + "/api/health").json()
    assert health["guidance"] and health["suggestions"] and health["variants"]
    browser.get(url + "/")
    wait_for(lambda: "ok" in browser.find_element(By.ID, "server-status").get_attribute("class"))  # fmt: skip
    guidance = browser.find_element(By.ID, "guidance")
    assert guidance.is_displayed()
    browser.find_element(By.ID, "files").send_keys(SAMPLE)
    wait_for(lambda: card(browser, "rocket.jpg").get_attribute("data-state") == "done")
    rocket = card(browser, "rocket.jpg")
    after = rocket.find_element(By.CSS_SELECTOR, "img.after")
    automatic = browser.execute_async_script(BYTES, after)
    note = rocket.find_element(By.CSS_SELECTOR, ".guide-note")
    assert note.text.startswith("Automatic colours")
    apply = rocket.find_element(By.CSS_SELECTOR, ".apply-guidance")

    # A reference photo: chosen, shown as a thumbnail, applied, removed.
    guidance.find_element(By.TAG_NAME, "summary").click()
    reference = tmp_path / "harbour.png"
    reference.write_bytes(encode(photo("coffee", (300, 200)), "PNG"))
    browser.find_element(By.ID, "reference-file").send_keys(str(reference))
    thumb = browser.find_element(By.ID, "reference-thumb")
    wait_for(lambda: thumb.is_displayed() and browser.execute_script("return arguments[0].naturalWidth", thumb) > 0)  # fmt: skip
    assert "reference photo is used" in browser.find_element(By.ID, "palette-note").text
    apply.click()
    _wait_recolorized(rocket, "the photo guided by the reference")
    assert "reference photo harbour.png" in note.text
    referenced = browser.execute_async_script(BYTES, after)
    assert referenced != automatic
    browser.find_element(By.ID, "reference-remove").click()
    assert not browser.find_element(By.ID, "reference-preview").is_displayed()

    # Palette swatches: two added with the colour input, one removed, applied.
    colour = browser.find_element(By.ID, "palette-colour")
    for value in ("#d02010", "#1040d0"):
        browser.execute_script(SET_COLOUR, colour, value)
        browser.find_element(By.ID, "palette-add").click()
    swatches = browser.find_elements(By.CSS_SELECTOR, "#swatches li")
    assert [s.get_attribute("data-colour") for s in swatches] == ["#d02010", "#1040d0"]
    swatches[1].find_element(By.CSS_SELECTOR, ".remove-swatch").click()
    swatches = browser.find_elements(By.CSS_SELECTOR, "#swatches li")
    assert [s.get_attribute("data-colour") for s in swatches] == ["#d02010"]
    apply.click()
    _wait_recolorized(rocket, "the photo guided by the palette")
    assert "palette of 1 colour: #d02010" in note.text
    guided = browser.execute_async_script(BYTES, after)
    assert guided not in (automatic, referenced)
    strength = str(health["guide_strengths"]["palette"])  # where the slider went
    with open(SAMPLE, "rb") as f:
        direct = httpx.post(
            url + "/api/colorize",
            files={"file": ("rocket.jpg", f)},
            data={"palette": "#d02010", "guide_strength": strength},
            timeout=120,
        )
    assert same_pixels(base64.b64decode(guided), direct.content)  # the API's

    # The uncertainty map over the result, semi-transparent.
    rocket.find_element(By.CSS_SELECTOR, ".uncertainty-toggle").click()
    wait_for(lambda: rocket.get_attribute("data-uncertainty") == "shown", what="the map")  # fmt: skip
    overlay = rocket.find_element(By.CSS_SELECTOR, "img.uncertainty")
    assert overlay.is_displayed()
    assert browser.execute_script("return arguments[0].naturalWidth", overlay) == 640
    assert float(overlay.value_of_css_property("opacity")) < 1
    assert browser.execute_script(CHROMA, overlay) > 5  # the heat map's colours

    # Suggested spots: numbered markers with three colours; a click on one adds it.
    rocket.find_element(By.CSS_SELECTOR, ".suggest").click()
    wait_for(lambda: rocket.get_attribute("data-suggest") == "idle", what="the spots")
    spots = rocket.find_elements(By.CSS_SELECTOR, ".suggestion")
    assert 1 <= len(spots) <= 5
    numbers = [s.find_element(By.CSS_SELECTOR, ".spot-number").text for s in spots]
    assert numbers == [str(i) for i in range(1, len(spots) + 1)]
    assert all(len(s.find_elements(By.CSS_SELECTOR, ".chip")) == 3 for s in spots)
    for spot in spots:  # a chip not covered by another spot's marker
        chosen = (int(spot.get_attribute("data-x")), int(spot.get_attribute("data-y")))
        try:
            spot.find_elements(By.CSS_SELECTOR, ".chip")[1].click()
            break
        except ElementClickInterceptedException:
            continue
    else:
        pytest.fail("every suggested spot's chips are covered")
    _wait_recolorized(rocket, "the photo with the suggested hint")
    hints = _shown_hints(rocket)
    assert [(h["x"], h["y"]) for h in hints] == [chosen]
    assert len(rocket.find_elements(By.CSS_SELECTOR, ".suggestion")) == len(spots) - 1
    hinted = browser.execute_async_script(BYTES, after)
    assert hinted != guided
    wait_for(lambda: rocket.get_attribute("data-uncertainty") == "shown", what="the map")  # fmt: skip
    browser.save_screenshot(os.path.join(shots, "guidance.png"))

    # Variants: three thumbnails; the one chosen is the result, its hints listed.
    Select(rocket.find_element(By.CSS_SELECTOR, ".variant-count")).select_by_value("3")
    rocket.find_element(By.CSS_SELECTOR, ".make-variants").click()
    wait_for(lambda: rocket.get_attribute("data-variants") == "idle", what="the variants")  # fmt: skip
    thumbs = rocket.find_elements(By.CSS_SELECTOR, ".variant")
    assert len(thumbs) == 3
    for thumb in thumbs:
        image = thumb.find_element(By.TAG_NAME, "img")
        assert browser.execute_script("return arguments[0].naturalWidth", image) == 512
    thumbs[2].click()
    _wait_recolorized(rocket, "the chosen variant")
    assert thumbs[2].get_attribute("aria-pressed") == "true"
    hints = _shown_hints(rocket)
    assert len(hints) > 1 and (hints[0]["x"], hints[0]["y"]) == chosen
    chosen_bytes = browser.execute_async_script(BYTES, after)
    assert chosen_bytes != hinted
    with open(SAMPLE, "rb") as f:
        direct = httpx.post(
            url + "/api/colorize",
            files={"file": ("rocket.jpg", f)},
            data={
                "palette": "#d02010",
                "guide_strength": strength,
                "hints": json.dumps(hints),
            },
            timeout=120,
        )
    assert same_pixels(base64.b64decode(chosen_bytes), direct.content)
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
