"""The survey's pages and API (routes of the app; `survey.py` keeps the votes).

GET  /survey                  the question page
GET  /api/survey/next         {"photo", "image", "answered", "remaining"} or
                              {"done": true, "answered"}
POST /api/survey/vote         {"photo": ID, "natural": true, "response_ms": 1830}
GET  /survey/photo/{id}       the photo, as JPEG (the same for every source)
GET  /survey/results          the table; .csv of it, /survey/votes.csv of the votes
GET  /api/survey/results      the table as JSON

A visit writes nothing: a visitor's photo is remembered in a signed cookie, and their
first vote makes them a participant (`survey_access`). The results and exports need
the admin token, as 'Authorization: Bearer TOKEN' or ?token=TOKEN.
"""

import contextlib
import dataclasses
import html
import importlib.resources
import json
import os
import string
import urllib.parse

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from colorization.app import results, survey_access
from colorization.app import survey as survey_lib

MAX_VOTE_BYTES = 4096
MAX_RESPONSE_MS = 3_600_000
_VOTE_FIELDS = {"photo", "natural", "response_ms"}


@dataclasses.dataclass
class Survey:
    """What the survey routes need: the vote store, the photos, the cookie signer and
    the admin token of the results."""

    store: survey_lib.SurveyStore
    photos: survey_lib.PhotoSet
    signer: survey_access.CookieSigner
    admin_token: str

    @classmethod
    def open(cls, images, db_path, admin_token=None):
        """Opens (or makes) the database and reads the photo folder.

        Args:
            admin_token: The token of the results and exports (at least 16
                characters); None makes a random one.

        Raises:
            survey.SurveyError: the folder, database or token cannot be used.
        """
        token = survey_access.admin_token(admin_token)
        survey_lib.scan(images)  # a bad folder fails before a database is made
        store = survey_lib.SurveyStore(db_path)
        photos = survey_lib.PhotoSet.load(images, store.secret)
        return cls(store, photos, survey_access.CookieSigner(store.cookie_key), token)


def _error(status, message, headers=None):
    return JSONResponse({"error": message}, status, headers=headers)


def _no_survey():
    return _error(404, "no survey here: start the app with --survey-images DIR")


def survey_page(request):
    survey = request.app.state.survey
    if survey is None:
        return HTMLResponse(
            "<!doctype html><title>No survey</title><p>This app runs no survey: "
            "start it with <code>--survey-images DIR</code>.</p>",
            404,
        )
    static = importlib.resources.files("colorization.app") / "static"
    return FileResponse(os.path.join(str(static), "survey.html"))


def next_photo(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    visitor = survey_access.identify(request, survey.signer, survey.store)
    if visitor.known:
        photo, answered, remaining = survey.store.next_photo(
            visitor.participant, survey.photos
        )
    elif visitor.photo in survey.photos.by_id:  # a reload shows the same photo
        photo = survey.photos.by_id[visitor.photo]
        answered, remaining = 0, survey.photos.scene_count
    else:
        photo, answered, remaining = survey.store.first_photo(survey.photos)
    if photo is None:
        body = {"done": True, "answered": answered}
    else:
        body = {
            "done": False,
            "photo": photo.id,
            "image": f"/survey/photo/{photo.id}",
            "answered": answered,
            "remaining": remaining,
        }
    response = JSONResponse(body)
    if visitor.known and not visitor.has_cookie:
        survey_access.admit(response, request, survey.signer, visitor.participant)
    elif not visitor.known and photo is not None and photo.id != visitor.photo:
        survey_access.remember_shown(
            response, request, survey.signer, visitor.participant, photo.id
        )
    return response


async def vote(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        return _error(415, "send the vote as application/json")
    try:
        body = await _small_body(request, MAX_VOTE_BYTES)
    except ValueError:
        return _error(413, "a vote is a small JSON object")
    try:
        photo, natural, response_ms = _parse_vote(body)
    except ValueError as problem:
        return _error(400, str(problem))
    visitor = await run_in_threadpool(
        survey_access.identify, request, survey.signer, survey.store
    )
    first = None
    if not visitor.known:
        if visitor.photo is None:
            return _error(403, "unknown participant: open /survey to take part")
        user_agent = request.headers.get("user-agent", "")
        first = (visitor.photo, visitor.shown_at, user_agent)
    try:
        answered = await run_in_threadpool(
            survey.store.vote,
            visitor.participant,
            photo,
            natural,
            response_ms,
            survey.photos,
            first,
        )
    except survey_lib.Refused as refused:
        return _error(refused.status, str(refused))
    response = JSONResponse({"ok": True, "answered": answered})
    if not (visitor.known and visitor.has_cookie):
        survey_access.admit(response, request, survey.signer, visitor.participant)
    return response


async def _small_body(request, limit):
    """The request's body; ValueError as soon as it is longer than `limit` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ValueError("too long")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValueError("too long")
    return bytes(body)


def _parse_vote(body):
    expected = '{"photo": ID, "natural": true or false, "response_ms": MILLISECONDS}'
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8, huge numbers, nesting
        raise ValueError(f"the body is not a JSON vote; send {expected}") from None
    if not isinstance(data, dict) or set(data) != _VOTE_FIELDS:
        raise ValueError(f"send exactly {expected}")
    photo, natural, response_ms = data["photo"], data["natural"], data["response_ms"]
    if not isinstance(photo, str) or not photo:
        raise ValueError("photo must be the id of the photo shown")
    if not isinstance(natural, bool):
        raise ValueError("natural must be true or false")
    if (
        isinstance(response_ms, bool)
        or not isinstance(response_ms, int)
        or not 0 <= response_ms <= MAX_RESPONSE_MS
    ):
        raise ValueError(f"response_ms must be an integer from 0 to {MAX_RESPONSE_MS}")
    return photo, natural, response_ms


def photo(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    photo_id = request.path_params["photo_id"]
    if photo_id not in survey.photos.by_id:
        return _error(404, "unknown photo")
    return Response(
        survey.photos.jpeg(photo_id),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600"},
    )


def _results(survey):
    with contextlib.closing(survey.store.connect()) as db:
        rows = results.read_results(db, survey.photos.sources)
        return rows, results.total_participants(db)


_NEEDS_TOKEN = (
    "the results are for the survey's organiser: send the admin token printed at "
    "start-up as 'Authorization: Bearer TOKEN' or add ?token=TOKEN"
)


def _not_admin(request, survey):
    """None for a request with the admin token, else its 401 answer."""
    if survey_access.is_admin(request, survey.admin_token):
        return None
    return _error(401, _NEEDS_TOKEN, {"WWW-Authenticate": "Bearer"})


def results_page(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if not survey_access.is_admin(request, survey.admin_token):
        return HTMLResponse(
            "<!doctype html><title>Survey results</title>"
            f"<p>{html.escape(_NEEDS_TOKEN)}.</p>",
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    rows, participants = _results(survey)
    cells = []
    for row in rows:
        values = (
            row.source,
            row.votes,
            row.natural,
            results.percent(row.share),
            results.interval_text(row.interval),
            row.participants,
        )
        cells.append(
            f'<tr data-source="{html.escape(row.source)}">'
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in values)
            + "</tr>"
        )
    template = importlib.resources.files("colorization.app") / "templates"
    text = (template / "results.html").read_text(encoding="utf-8")
    query = "?" + urllib.parse.urlencode({"token": survey.admin_token})
    page = string.Template(text).substitute(
        rows="\n".join(cells),
        totals=results.totals_text(sum(row.votes for row in rows), participants),
        token_query=html.escape(query),  # the page's links work without the header
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def results_csv(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if refused := _not_admin(request, survey):
        return refused
    rows, _ = _results(survey)
    return _csv(results.results_csv(rows), "survey_results.csv")


def votes_csv(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if refused := _not_admin(request, survey):
        return refused
    with contextlib.closing(survey.store.connect()) as db:
        text = results.votes_csv(db, survey.signer.pseudonym)
    return _csv(text, "survey_votes.csv")


def _csv(text, name):
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def results_json(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if refused := _not_admin(request, survey):
        return refused
    rows, participants = _results(survey)
    return JSONResponse(
        headers={"Cache-Control": "no-store"},
        content={
            "participants": participants,
            "sources": [
                {
                    "source": row.source,
                    "votes": row.votes,
                    "natural": row.natural,
                    "share": row.share,
                    "ci95": list(row.interval) if row.interval else None,
                    "participants": row.participants,
                }
                for row in rows
            ],
        },
    )


def routes():
    """The survey's routes (each answers 404 when the app has no survey)."""
    return [
        Route("/survey", survey_page),
        Route("/survey/photo/{photo_id}", photo),
        Route("/survey/results", results_page),
        Route("/survey/results.csv", results_csv),
        Route("/survey/votes.csv", votes_csv),
        Route("/api/survey/next", next_photo),
        Route("/api/survey/vote", vote, methods=["POST"]),
        Route("/api/survey/results", results_json),
    ]
