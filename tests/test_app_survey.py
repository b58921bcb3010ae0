"""The naturalness survey with Starlette's test client: the order, the vote rules, the
results against a hand-computed table, the report command and the folder builder."""

import concurrent.futures
import contextlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings

import httpx
import numpy as np
import pytest
from PIL import Image

from colorization.app import (
    results,
    server,
    survey,
    survey_access,
    survey_routes,
    survey_set,
)
from colorization.cli import app as app_main
from colorization.cli import survey_report
from colorization.cli import survey_set as survey_set_cli
from tests.conftest import encode, photo
from tests.train_data import REPO

with warnings.catch_warnings():  # Starlette 1.10 asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SCENES = ("a", "b", "c", "d")
TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def make_survey_folder(root, scenes=SCENES, extra=("l1", ("a", "b"))):
    """real/ and default/ with every scene, and one more source with some of them."""
    names = ("astronaut", "coffee", "chelsea", "rocket")
    for source, wanted in (("real", scenes), ("default", scenes), extra):
        os.makedirs(root / source, exist_ok=True)
        for i, scene in enumerate(wanted):
            image = photo(names[i % 4], (40 + 4 * i, 30))
            if source != "real":
                image = np.clip(image.astype(int) + 40, 0, 255).astype(np.uint8)
            fmt = "PNG" if source == "l1" else "JPEG"
            (root / source / f"{scene}.{fmt.lower()}").write_bytes(encode(image, fmt))
    return root


@pytest.fixture
def app(tmp_path):
    folder = make_survey_folder(tmp_path / "set")
    db_path = str(tmp_path / "votes.sqlite3")
    opened = survey_routes.Survey.open(str(folder), db_path, admin_token=TOKEN)
    return server.create_app(None, opened)


def rows(app, table):
    with contextlib.closing(app.state.survey.store.connect()) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def vote(client, photo_id, natural=True, response_ms=1200):
    body = {"photo": photo_id, "natural": natural, "response_ms": response_ms}
    return client.post("/api/survey/vote", json=body)


def test_the_survey_page_shows_no_source(app):
    with TestClient(app) as client:
        page = client.get("/survey")
        assert page.status_code == 200 and "Does this photo look natural?" in page.text
        first = client.get("/api/survey/next")
        assert first.status_code == 200
        body = first.json()
        assert body["answered"] == 0 and body["remaining"] == len(SCENES)
        for source in ("real", "default", "l1", ".png", ".jpg"):
            assert source not in first.text
        image = client.get(body["image"])
        assert image.headers["content-type"] == "image/jpeg"
        shown = Image.open(io.BytesIO(image.content))
        assert shown.format == "JPEG" and not shown.getexif()
        # A reload shows the same photo: nobody skips to a source they like.
        assert client.get("/api/survey/next").json()["photo"] == body["photo"]
        vote(client, body["photo"])
        following = client.get("/api/survey/next").json()["photo"]
        assert client.get("/api/survey/next").json()["photo"] == following
        assert client.get("/survey/photo/0123456789abcdef0123").status_code == 404


def test_visits_write_nothing_and_the_first_vote_makes_the_participant(app):
    """Issue 20, point 13: a participant (a synced write) per vote, not per visit."""
    with TestClient(app) as client:
        for _ in range(30):
            client.cookies.clear()
            assert client.get("/survey").status_code == 200
            assert client.get("/api/survey/next").status_code == 200
        assert [rows(app, t) for t in ("participants", "shown", "votes")] == [[]] * 3
        assert survey_access.COOKIE not in client.cookies
        shown = client.get("/api/survey/next").json()["photo"]
        assert client.get("/api/survey/next").json()["photo"] == shown  # a reload
        pending = client.cookies[survey_access.PENDING_COOKIE]
        other = next(p.id for p in app.state.survey.photos.photos if p.id != shown)
        assert vote(client, other).status_code == 409  # not the photo shown
        assert rows(app, "participants") == []
        answer = vote(client, shown, response_ms=900)
        assert answer.json() == {"ok": True, "answered": 1}
        assert survey_access.COOKIE in answer.cookies
        ((who, _, _),) = rows(app, "participants")
        (row,) = rows(app, "votes")
        assert row[1:3] == (who, shown) and row[6] == 900 and row[7] >= 0
        assert rows(app, "shown") == [(who, shown, pytest.approx(row[8], abs=60))]
        body = client.get("/api/survey/next").json()
        assert body["answered"] == 1 and body["photo"] != shown
        assert len(rows(app, "participants")) == 1
        # The cookie of the photo shown, without the participant cookie (the first
        # vote's answer was lost): the same participant, who has answered that photo.
        with TestClient(app) as again:
            again.cookies.set(survey_access.PENDING_COOKIE, pending)
            assert vote(again, shown).status_code == 409
        assert len(rows(app, "participants")) == 1 and len(rows(app, "votes")) == 1


def test_a_participant_sees_each_scene_once_with_sources_balanced(app):
    photos = app.state.survey.photos
    # l1 shows 2 of the 4 scenes: its scenes must not go to the other sources first.
    for _ in range(10):  # ten participants, each with their own cookie
        with TestClient(app) as client:
            client.get("/survey")
            seen = []
            while True:
                body = client.get("/api/survey/next").json()
                if body["done"]:
                    break
                assert body["answered"] == len(seen)
                seen.append(photos.by_id[body["photo"]])
                answer = vote(client, body["photo"], natural=len(seen) % 2 == 0)
                assert answer.json() == {"ok": True, "answered": len(seen)}
            assert body == {"done": True, "answered": len(SCENES)}
            assert sorted(p.scene for p in seen) == list(SCENES)
            per_source = [sum(p.source == s for p in seen) for s in photos.sources]
            assert max(per_source) - min(per_source) <= 1
    assert len(rows(app, "votes")) == 10 * len(SCENES)


def test_votes_that_break_the_rules_are_refused_and_change_nothing(app, tmp_path):
    with TestClient(app) as client:
        client.get("/survey")
        shown = client.get("/api/survey/next").json()["photo"]
        other = next(p.id for p in app.state.survey.photos.photos if p.id != shown)
        assert vote(client, shown).status_code == 200
        before = [rows(app, t) for t in ("participants", "shown", "votes")]
        post = client.post
        cases = {
            "replay": (lambda: vote(client, shown, natural=False), 409),
            "not shown to them": (lambda: vote(client, other), 409),
            "unknown photo": (lambda: vote(client, "f" * 20), 404),
            "no photo id": (lambda: vote(client, ""), 400),
            "not JSON": (lambda: post("/api/survey/vote", content=b"{yes", headers={"content-type": "application/json"}), 400),
            "a list": (lambda: post("/api/survey/vote", json=[shown, True, 5]), 400),
            "missing key": (lambda: post("/api/survey/vote", json={"photo": shown, "natural": True}), 400),
            "extra key": (lambda: post("/api/survey/vote", json={"photo": shown, "natural": True, "response_ms": 5, "source": "real"}), 400),
            "natural not a bool": (lambda: post("/api/survey/vote", json={"photo": shown, "natural": "yes", "response_ms": 5}), 400),
            "negative time": (lambda: vote(client, shown, response_ms=-5), 400),
            "fractional time": (lambda: vote(client, shown, response_ms=1.5), 400),
            "boolean time": (lambda: vote(client, shown, response_ms=True), 400),
            "form post": (lambda: post("/api/survey/vote", data={"photo": shown}), 415),
            "huge body": (lambda: post("/api/survey/vote", content=b" " * 10_000, headers={"content-type": "application/json"}), 413),
        }  # fmt: skip
        for name, (send, status) in cases.items():
            response = send()
            assert response.status_code == status, (name, response.text)
            assert response.json()["error"], name
        assert [rows(app, t) for t in ("participants", "shown", "votes")] == before
        client.cookies.clear()
        assert vote(client, shown).status_code == 403
        client.cookies.set(survey_access.COOKIE, "forged")
        assert vote(client, shown).status_code == 403
        assert rows(app, "votes") == before[2]


def test_a_vote_with_a_huge_number_or_deep_nesting_is_a_one_line_4xx(app):
    """Issue 20, point 7: bodies that break the JSON parser are the client's fault."""
    with TestClient(app) as client:
        shown = client.get("/api/survey/next").json()["photo"]
        start = b'{"photo": "%s", "natural": true, "response_ms": ' % shown.encode()
        bodies = {
            "5,000 digits": start + b"7" * 5000 + b"}",
            "4,000 digits": start + b"7" * 4000 + b"}",
            "100,000 deep": b"[" * 100_000 + b"]" * 100_000,
            "2,000 deep": b"[" * 2000 + b"]" * 2000,
            "2,000 deep in the vote": start + b"[" * 1500 + b"]" * 1500 + b"}",
            "1e999": start + b"1e999}",
            "NaN": start + b"NaN}",
        }
        for name, body in bodies.items():
            response = client.post(
                "/api/survey/vote",
                content=body,
                headers={"content-type": "application/json"},
            )
            assert 400 <= response.status_code < 500, (name, response.text)
            assert "\n" not in response.text.strip() and response.json()["error"]

        def stream():  # no Content-Length: refused once the bytes pass the limit
            yield start
            for _ in range(1000):
                yield b" " * 1000

        response = client.post(
            "/api/survey/vote",
            content=stream(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413 and response.json()["error"]
    assert rows(app, "votes") == []


def _set_cookies(response):
    """{name: attributes} of the response's Set-Cookie headers (lower case)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = [part.strip() for part in header.split(";")]
        name = name_value.split("=")[0]
        found[name] = {a.split("=")[0].lower(): a.lower() for a in attributes}
    return found


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_cookies_are_signed_http_only_same_site_and_secure_on_https(app, scheme):
    """Issue 20, point 12: a participant id is not enough to vote as them."""
    with TestClient(app, base_url=f"{scheme}://testserver") as client:
        next_photo = client.get("/api/survey/next")
        answer = vote(client, next_photo.json()["photo"])
        assert answer.status_code == 200
    ((who, _, _),) = rows(app, "participants")
    for response in (next_photo, answer):
        for name, attributes in _set_cookies(response).items():
            assert "httponly" in attributes and "path" in attributes, name
            assert attributes["samesite"] in ("samesite=strict", "samesite=lax")
            assert ("secure" in attributes) == (scheme == "https"), name
    cookie = answer.cookies[survey_access.COOKIE]
    assert who in cookie and cookie != who  # the id, signed
    shown = None
    for forged in (who, cookie[:-1] + ("0" if cookie[-1] != "0" else "1")):
        with TestClient(app, base_url=f"{scheme}://testserver") as client:
            client.cookies.set(survey_access.COOKIE, forged)
            body = client.get("/api/survey/next").json()
            assert body["answered"] == 0  # a new visitor, not `who`
            shown = shown or body["photo"]
    with TestClient(app) as client:  # the id alone cannot vote
        client.cookies.set(survey_access.COOKIE, who)
        assert vote(client, shown).status_code == 403
    assert len(rows(app, "votes")) == 1


def test_the_vote_export_has_pseudonyms_that_cannot_vote(app):
    """Issue 20, point 12: /survey/votes.csv listed the ids that were the cookies."""
    with TestClient(app) as victim:
        vote(victim, victim.get("/api/survey/next").json()["photo"])
        waiting = victim.get("/api/survey/next").json()["photo"]  # shown, not answered
    ((who, _, _),) = rows(app, "participants")
    with TestClient(app) as client:
        exported = client.get("/survey/votes.csv", headers=ADMIN).text.splitlines()
    assert exported[0].split(",")[2] == "participant" and len(exported) == 2
    pseudonym = exported[1].split(",")[2]
    assert pseudonym and who not in exported[1]
    for cookie in (pseudonym, who):
        with TestClient(app) as attacker:
            attacker.cookies.set(survey_access.COOKIE, cookie)
            assert vote(attacker, waiting).status_code == 403
            assert attacker.get("/api/survey/next").json()["answered"] == 0
    assert len(rows(app, "votes")) == 1
    with TestClient(app) as client:  # the same pseudonym in the next export
        again = client.get("/survey/votes.csv", headers=ADMIN).text.splitlines()
    assert again == exported


ADMIN_PATHS = (
    "/survey/results",
    "/survey/results.csv",
    "/survey/votes.csv",
    "/api/survey/results",
)


def test_the_results_and_exports_need_the_admin_token(app, tmp_path):
    """Issue 20, point 12: results and exports for the organiser only."""
    with TestClient(app) as client:
        for path in ADMIN_PATHS:
            for headers, query in (
                ({}, ""),
                ({"Authorization": "Bearer wrong-token-0123456789"}, ""),
                ({"Authorization": TOKEN}, ""),  # not a Bearer header
                ({}, "?token=" + TOKEN[:-1]),
                ({}, "?token=\u00e9t\u00e9"),
            ):
                refused = client.get(path + query, headers=headers)
                assert refused.status_code == 401, (path, headers, query)
                assert "token" in refused.text and TOKEN not in refused.text
            assert client.get(path, headers=ADMIN).status_code == 200, path
            assert client.get(f"{path}?token={TOKEN}").status_code == 200, path
        page = client.get("/survey/results", headers=ADMIN).text
        for export in ("results.csv", "votes.csv"):
            link = page.split(f'href="/survey/{export}')[1].split('"')[0]
            assert link == f"?token={TOKEN}"
    folder, db_path = str(tmp_path / "set"), str(tmp_path / "votes.sqlite3")
    generated = survey_routes.Survey.open(folder, db_path).admin_token
    assert len(generated) >= 32  # a random one when none is given
    assert generated != survey_routes.Survey.open(folder, db_path).admin_token
    with pytest.raises(survey.SurveyError, match="at least 16"):
        survey_routes.Survey.open(folder, db_path, admin_token="short")


def test_the_stored_vote_has_its_source_and_response_times(app):
    with TestClient(app) as client:
        client.get("/survey")
        body = client.get("/api/survey/next").json()
        vote(client, body["photo"], natural=False, response_ms=2345)
    (row,) = rows(app, "votes")
    _, participant, photo_id, source, path, natural, response_ms, server_ms, _ = row
    photo = app.state.survey.photos.by_id[photo_id]
    assert (source, path, natural, response_ms) == (photo.source, photo.path, 0, 2345)
    assert server_ms >= 0 and participant == rows(app, "participants")[0][0]


def _fill(db_path, votes):
    """Writes votes straight into a survey database: {source: [(participant,
    natural), ...]}."""
    store = survey.SurveyStore(db_path)
    with store.transaction() as db:
        people = {who for answers in votes.values() for who, _ in answers}
        for who in sorted(people):
            db.execute("INSERT INTO participants VALUES (?, 0, '')", (who,))
        for source, answers in votes.items():
            for i, (who, natural) in enumerate(answers):
                db.execute(
                    "INSERT INTO votes (participant, photo, source, path, natural, "
                    "response_ms, server_ms, created_at) VALUES (?, ?, ?, ?, ?, 900, "
                    "1000, 1.7e9)",
                    (who, f"{source}{i}", source, f"{i}.jpg", int(natural)),
                )
    return store


# real: 9 of 10 natural (4 participants), default: 6 of 10 (5), l1: 0 of 3 (2).
HAND_VOTES = {
    "real": [(f"p{i % 4}", i != 3) for i in range(10)],
    "default": [(f"p{i % 5}", i < 6) for i in range(10)],
    "l1": [("p0", False), ("p5", False), ("p5", False)],
}
# Wilson 95 % intervals worked out by hand: centre (p + z^2/2n) / (1 + z^2/n),
# half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n), z = 1.95996.
HAND_TABLE = [
    ("real", 10, 9, "90.0 %", "59.6 - 98.2 %", 4),
    ("default", 10, 6, "60.0 %", "31.3 - 83.2 %", 5),
    ("l1", 3, 0, "0.0 %", "0.0 - 56.1 %", 2),
]


def test_wilson_interval_against_known_values():
    assert results.wilson_interval(0, 0) is None
    for (k, n), expected in {
        (9, 10): (0.5958, 0.9821),
        (6, 10): (0.3127, 0.8318),
        (0, 3): (0.0, 0.5615),
        (10, 10): (0.7225, 1.0),
        (87, 100): (0.7902, 0.9224),
    }.items():
        assert results.wilson_interval(k, n) == pytest.approx(expected, abs=1e-4)


def test_results_page_csv_json_and_report_match_the_hand_table(tmp_path, capsys):
    db_path = str(tmp_path / "votes.sqlite3")
    _fill(db_path, HAND_VOTES)
    folder = make_survey_folder(tmp_path / "set", extra=("pale", ("a",)))
    opened = survey_routes.Survey.open(str(folder), db_path, admin_token=TOKEN)
    app = server.create_app(None, opened)
    no_votes = ("pale", 0, 0, "-", "-", 0)  # a source of the folder without votes
    expected = [*HAND_TABLE, no_votes]
    expected = sorted(expected, key=lambda row: results.source_order(row[0]))
    with TestClient(app, headers=ADMIN) as client:
        page = client.get("/survey/results").text
        for source, votes, natural, share, interval, people in expected:
            row = page.split(f'<tr data-source="{source}">')[1].split("</tr>")[0]
            cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
            assert cells == [
                source,
                str(votes),
                str(natural),
                share,
                interval,
                str(people),
            ]
        assert "23 answers from 6 participants." in page
        table = client.get("/api/survey/results").json()
        assert table["participants"] == 6
        assert [(s["source"], s["votes"], s["natural"]) for s in table["sources"]] == [
            row[:3] for row in expected
        ]
        csv_text = client.get("/survey/results.csv").text.splitlines()
        assert (
            csv_text[0] == "source,votes,natural,share,ci95_low,ci95_high,participants"
        )
        assert "real,10,9,0.9000,0.5958,0.9821,4" in csv_text
        assert "pale,0,0,,,,0" in csv_text
        votes = client.get("/survey/votes.csv").text.splitlines()
        assert len(votes) == 1 + 23 and votes[1].endswith(",real,0.jpg,1,900,1000")
        pseudonyms = {line.split(",")[2] for line in votes[1:]}
        assert len(pseudonyms) == 6 and not pseudonyms & {f"p{i}" for i in range(6)}

    assert survey_report.main([db_path]) == 0
    out = capsys.readouterr().out.splitlines()
    for source, votes, natural, share, interval, people in HAND_TABLE:
        line = next(line for line in out if line.startswith(source + " "))
        assert line.split() == [source, str(votes), str(natural)] + share.split() + (
            interval.split() + [str(people)]
        )
    assert out[-1] == "23 answers from 6 participants."
    assert survey_report.main([db_path, "--csv"]) == 0
    assert "default,10,6,0.6000,0.3127,0.8318,5" in capsys.readouterr().out


def test_the_report_refuses_what_is_not_a_survey_database(tmp_path, capsys):
    missing = tmp_path / "missing.sqlite3"
    assert survey_report.main([str(missing)]) == 2
    assert not missing.exists()  # reading never makes a database
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    assert survey_report.main([str(text)]) == 2
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert survey_report.main([str(other)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(
        e.startswith("colorization-survey-report: error:") for e in errors
    )


@pytest.mark.parametrize(
    "layout,words",
    [
        ({}, "does not exist"),
        ({"default": ["a.jpg"]}, "needs a 'real' folder"),
        ({"real": ["a.jpg"]}, "one folder per colorizer"),
        ({"real": ["a.jpg"], "default": []}, "holds no images"),
    ],
)
def test_bad_survey_folders_are_one_line_errors(tmp_path, layout, words):
    root = tmp_path / "set"
    for source, names in layout.items():
        (root / source).mkdir(parents=True)
        for name in names:
            (root / source / name).write_bytes(
                encode(photo("coffee", (20, 20)), "JPEG")
            )
    db = tmp_path / "votes.sqlite3"
    with pytest.raises(survey.SurveyError, match=words):
        survey_routes.Survey.open(str(root), str(db))
    assert not db.exists()


class Tint:
    """A stand-in colorizer (the builder needs only `colorize(rgb)`)."""

    def colorize(self, rgb):
        tinted = rgb.mean(-1, keepdims=True) * np.array([1.0, 0.8, 0.6])
        return tinted.astype(np.uint8)


def test_the_builder_writes_the_same_scenes_for_every_source(tmp_path, photo_dir):
    grey = np.stack([photo("camera", (50, 40))] * 3, -1)
    (photo_dir / "grey.png").write_bytes(encode(grey, "PNG"))
    out = tmp_path / "set"
    written = survey_set.build(str(photo_dir), str(out), {"tinted": Tint()}, 10, 64)
    assert len(written) == 5 and "grey.jpg" not in written  # black-and-white skipped
    assert sorted(os.listdir(out)) == ["real", "tinted"]
    for name in written:
        real = Image.open(out / "real" / name)
        tinted = Image.open(out / "tinted" / name)
        assert real.size == tinted.size and max(real.size) <= 64
    photos = survey.PhotoSet.load(str(out), "secret")
    assert len(photos.photos) == 10 and photos.sources == ["real", "tinted"]
    assert survey_set_cli.parse_model("pale=default,blend=0.3") == (
        "pale",
        None,
        {"blend": 0.3},
    )
    for bad in ("real=default", "x", "a=b,colour=2", "a=b,blend=x"):
        with pytest.raises(Exception, match="--model"):
            survey_set_cli.parse_model(bad)


def test_the_database_is_in_wal_mode_and_its_schema_is_made_once(tmp_path):
    path = str(tmp_path / "votes.sqlite3")
    first = survey.SurveyStore(path)
    who = first.new_participant("agent")
    again = survey.SurveyStore(path)  # a restart: same schema, same secret
    assert again.secret == first.secret and again.has_participant(who)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
    with pytest.raises(survey.SurveyError):
        bad = tmp_path / "bad.sqlite3"
        bad.write_text(json.dumps({"not": "sqlite"}) * 100)
        survey.SurveyStore(str(bad))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(folder, db_path, port, env=None):
    """`python -m colorization.app --survey-only` on `port`, once it answers; its
    stderr goes to DB_PATH.log."""
    command = [sys.executable, "-m", "colorization.app", "--survey-only"]
    command += ["--survey-images", str(folder), "--survey-db", db_path]
    command += ["--port", str(port), "--log-level", "warning"]
    with open(db_path + ".log", "w") as log:
        server_process = subprocess.Popen(command, cwd=REPO, stderr=log, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server_process.poll() is None, _log(db_path)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return server_process
        time.sleep(0.1)
    server_process.kill()
    raise AssertionError("the app did not start")


def _log(db_path):
    with open(db_path + ".log") as log:
        return log.read()


def test_the_admin_token_is_printed_once_at_start_up_unless_given(tmp_path, capsys):
    folder = make_survey_folder(tmp_path / "set")
    db_path = str(tmp_path / "votes.sqlite3")
    argv = ["--survey-only", "--survey-images", str(folder), "--survey-db", db_path]
    assert app_main.main([*argv, "--survey-token", "short"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(folder, db_path, port)
    try:
        lines = _log(db_path)  # printed before the app answers
        (link,) = re.findall(r"http://\S+/survey/results\?token=\S+", lines)
        token = link.split("token=")[1]
        assert lines.count(token) == 1
        assert httpx.get(link).status_code == 200
        assert httpx.get(f"{url}/survey/votes.csv", params={"token": token}).is_success
        assert httpx.get(f"{url}/survey/results").status_code == 401
    finally:
        process.kill()
        process.wait(30)
    env = dict(os.environ, COLORIZATION_SURVEY_TOKEN=TOKEN)
    process = _start(folder, db_path, port, env)
    try:
        lines = _log(db_path)
        assert (
            "/survey/results" in lines
            and TOKEN not in lines
            and "COLORIZATION_SURVEY_TOKEN" in lines
        )
        assert httpx.get(f"{url}/api/survey/results", headers=ADMIN).is_success
        assert httpx.get(link).status_code == 401  # the last start's token
    finally:
        process.kill()
        process.wait(30)


def test_a_crash_during_voting_loses_no_committed_vote(tmp_path):
    scenes = [f"s{i:02d}" for i in range(12)]
    folder = make_survey_folder(tmp_path / "set", scenes, ("l1", scenes))
    db_path = str(tmp_path / "votes.sqlite3")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged = []  # (participant, photo, natural) answered 200 by the server
    lock = threading.Lock()
    deadline = time.monotonic() + 240

    def voter(number):
        with httpx.Client(base_url=url, timeout=10) as client:
            while True:
                assert time.monotonic() < deadline, "voting did not finish"
                try:
                    if survey_access.COOKIE not in client.cookies:
                        client.get("/survey").raise_for_status()
                    body = client.get("/api/survey/next").json()
                    if body["done"]:
                        return body["answered"]
                    natural = (number + body["answered"]) % 3 != 0
                    answer = vote(client, body["photo"], natural, 700 + number)
                except httpx.TransportError:  # the server is down: wait for it
                    time.sleep(0.05)
                    continue
                assert answer.status_code == 200, answer.text
                cookie = client.cookies[survey_access.COOKIE]
                with lock:
                    acknowledged.append((cookie, body["photo"], int(natural)))

    process = _start(folder, db_path, port)
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            voters = [pool.submit(voter, n) for n in range(3)]
            while len(acknowledged) < 8:
                assert time.monotonic() < deadline and not any(v.done() for v in voters)
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)  # a crash, mid-request
            process.wait(30)
            at_crash = len(acknowledged)
            process = _start(folder, db_path, port)
            assert [v.result(timeout=240) for v in voters] == [len(scenes)] * 3
    finally:
        process.kill()
        process.wait(30)
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = db.execute("SELECT participant, photo, natural FROM votes").fetchall()
    signer = survey_access.CookieSigner(survey.SurveyStore(db_path).cookie_key)
    acknowledged = [
        (signer.unsign(survey_access.PARTICIPANT, cookie)[0], photo_id, natural)
        for cookie, photo_id, natural in acknowledged
    ]
    # Every vote the server acknowledged is there; a vote committed just before the
    # crash whose answer was lost may be there too (at most one per voter).
    assert set(acknowledged) <= set(stored) and len(stored) == 3 * len(scenes)
    assert 8 <= at_crash < len(acknowledged) and len(stored) - len(acknowledged) <= 3
