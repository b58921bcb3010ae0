"""The survey's pages and API (routes of the app; `survey.py` keeps the votes).

GET  /survey                  the question page; gives a participant cookie
GET  /api/survey/next         {"photo", "image", "answered", "remaining"} or
                              {"done": true, "answered"}
POST /api/survey/vote         {"photo": ID, "natural": true, "response_ms": 1830}
GET  /survey/photo/{id}       the photo, as JPEG (the same for every source)
GET  /survey/results          the table; .csv of it, /survey/votes.csv of the votes
GET  /api/survey/results      the table as JSON
"""

import contextlib
import dataclasses
import html
import importlib.resources
import json
import os
import string

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from colorization.app import results
from colorization.app import survey as survey_lib

COOKIE = "survey_participant"
MAX_RESPONSE_MS = 3_600_000
_VOTE_FIELDS = {"photo", "natural", "response_ms"}
_YEAR = 365 * 24 * 3600


@dataclasses.dataclass
class Survey:
    """What the survey routes need: the vote store and the photos."""

    store: survey_lib.SurveyStore
    photos: survey_lib.PhotoSet

    @classmethod
    def open(cls, images, db_path):
        """Opens (or makes) the database and reads the photo folder.

        Raises:
            survey.SurveyError: either cannot be used.
        """
        survey_lib.scan(images)  # a bad folder fails before a database is made
        store = survey_lib.SurveyStore(db_path)
        return cls(store, survey_lib.PhotoSet.load(images, store.secret))


def _error(status, message):
    return JSONResponse({"error": message}, status)


def _no_survey():
    return _error(404, "no survey here: start the app with --survey-images DIR")


def _participant(request, survey):
    """The request's known participant id, or a new one (and whether it is new)."""
    participant = request.cookies.get(COOKIE, "")
    if participant and survey.store.has_participant(participant):
        return participant, False
    return survey.store.new_participant(request.headers.get("user-agent", "")), True


def _with_cookie(response, participant, new):
    if new:
        response.set_cookie(
            COOKIE, participant, max_age=_YEAR, httponly=True, samesite="lax"
        )
    return response


def survey_page(request):
    survey = request.app.state.survey
    if survey is None:
        return HTMLResponse(
            "<!doctype html><title>No survey</title><p>This app runs no survey: "
            "start it with <code>--survey-images DIR</code>.</p>",
            404,
        )
    static = importlib.resources.files("colorization.app") / "static"
    response = FileResponse(os.path.join(str(static), "survey.html"))
    return _with_cookie(response, *_participant(request, survey))


def next_photo(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    participant, new = _participant(request, survey)
    photo, answered, remaining = survey.store.next_photo(participant, survey.photos)
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
    return _with_cookie(JSONResponse(body), participant, new)


async def vote(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        return _error(415, "send the vote as application/json")
    body = await request.body()
    if len(body) > 4096:
        return _error(413, "a vote is a small JSON object")
    try:
        photo, natural, response_ms = _parse_vote(body)
    except ValueError as problem:
        return _error(400, str(problem))
    try:
        answered = await run_in_threadpool(
            survey.store.vote,
            request.cookies.get(COOKIE, ""),
            photo,
            natural,
            response_ms,
            survey.photos,
        )
    except survey_lib.Refused as refused:
        return _error(refused.status, str(refused))
    return JSONResponse({"ok": True, "answered": answered})


def _parse_vote(body):
    expected = '{"photo": ID, "natural": true or false, "response_ms": MILLISECONDS}'
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"the body is not JSON; send {expected}") from None
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


def results_page(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
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
    page = string.Template(text).substitute(
        rows="\n".join(cells),
        totals=results.totals_text(sum(row.votes for row in rows), participants),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def results_csv(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    rows, _ = _results(survey)
    return _csv(results.results_csv(rows), "survey_results.csv")


def votes_csv(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    with contextlib.closing(survey.store.connect()) as db:
        return _csv(results.votes_csv(db), "survey_votes.csv")


def _csv(text, name):
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def results_json(request):
    survey = request.app.state.survey
    if survey is None:
        return _no_survey()
    rows, participants = _results(survey)
    return JSONResponse(
        {
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
        }
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
