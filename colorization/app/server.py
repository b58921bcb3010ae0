"""The web app: the colorize page, its HTTP API and (optionally) the survey.

    service = ColorizeService(ModelRunner(colorizer), Limits())
    app = create_app(service, allowed_hosts=guards.allowed_hosts("127.0.0.1"))
    uvicorn.run(app)               # `python -m colorization.app` adds its timeouts

Routes: `/` (the page), `/static/...`, `GET /api/health`, `POST /api/colorize`
(multipart: `file`, and optional `size`, `temperature`, `blend`, `quality`, `output`,
`hints`, and the guidance: a colour photo `reference` or a `palette` "#rrggbb,...",
with `guide_strength` in [0, 1]), `POST /api/uncertainty` (a PNG heat map),
`/api/suggest` (`k` spots, JSON) and `/api/variants` (`n` and `seed`, JSON) for a
model with a bins head (`analysis`; they take `file` or `image_id`, `hints` and the
guidance), and the survey's routes (`survey_routes.py`). Every error of the API is a
JSON body `{"error": "..."}` with a 4xx or 5xx status. Every response has the headers
of `guards.SecurityHeaders`; requests are checked by `guards.HostCheck` and
`guards.UploadGate`.

With a hinted model (`/api/health` says `"hints": true`), `hints` is the JSON of
infer.py --hints, `[{"x": 12, "y": 34, "color": "#rrggbb"}]` in pixels of the photo as
shown, and the answer's `X-Image-Id` header names the decoded upload the server keeps:
a request with `image_id` instead of `file` colorizes it again (410 once it was
pushed out: send the file again).
"""

import dataclasses
import importlib.resources
import os
import urllib.parse

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from colorization.app import analysis, colorize, guards
from colorization.app.colorize import Options, QueueFull, TooLarge
from colorization.hints import user_hints
from colorization.inference import guidance, image_io

_OPTION_FIELDS = ("size", "temperature", "blend", "quality", "output", "hints")
_GUIDE_FIELDS = ("reference", "palette", "guide_strength")
_COMMON_FIELDS = ("file", "image_id", "hints", *_GUIDE_FIELDS)
_FORM_FIELDS = {  # the fields each task takes
    "colorize": {*_COMMON_FIELDS, *_OPTION_FIELDS},
    "uncertainty": set(_COMMON_FIELDS),
    "suggest": {*_COMMON_FIELDS, "k"},
    "variants": {*_COMMON_FIELDS, "n", "seed"},
}
_FORM_OVERHEAD = 1024 * 1024  # multipart headers and the small fields
_MAX_NUMBER_CHARS = 40  # JavaScript writes any number in under 25
_MAX_PALETTE = 32  # colours
DEFAULT_VARIANTS = 4


def static_dir():
    """The folder of the page's files, shipped in the package."""
    return str(importlib.resources.files("colorization.app") / "static")


def error(status, message, headers=None):
    """The API's error response: `{"error": message}`."""
    return JSONResponse({"error": message}, status, headers=headers)


def _parse_options(form, task="colorize"):
    """The request's `Options` from its form fields for `task`; ValueError says what
    is wrong."""
    known = _FORM_FIELDS[task]
    unknown = sorted(set(form.keys()) - known)
    if unknown:
        raise ValueError(
            f"unknown form field {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )

    def number(name, kind, low, high):
        text = form.get(name)
        if text is None or text == "":
            return None
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"{name} must be {what} from {low:g} to {high:g}")
        return value

    output = form.get("output") or "colorized"
    if output not in colorize.OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(colorize.OUTPUTS)}")
    quality = form.get("quality") or None
    if quality is not None and quality not in colorize.QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(colorize.QUALITIES)}")
    reference = form.get("reference")
    if reference == "":
        reference = None
    if isinstance(reference, str):
        raise ValueError("reference must be a file: a colour photo")
    palette = _parse_palette(form.get("palette"))
    if reference is not None and palette is not None:
        raise ValueError("give a reference photo or a palette, not both")
    count = None
    if task == "suggest":
        count = number("k", int, 1, analysis.MAX_SUGGESTIONS)
        count = count or analysis.DEFAULT_SUGGESTIONS
    elif task == "variants":
        count = number("n", int, 1, analysis.MAX_VARIANTS) or DEFAULT_VARIANTS
    return Options(
        size=number("size", int, *colorize.SIZE_RANGE),
        temperature=number("temperature", float, *colorize.TEMPERATURE_RANGE),
        blend=number("blend", float, 0.0, 1.0),
        quality=quality,
        output=output,
        hints=_parse_hints(form.get("hints")),
        palette=palette,
        guide_strength=number("guide_strength", float, 0.0, 1.0),
        reference=reference,
        count=count,
        seed=number("seed", int, 0, 2**31 - 1) or 0,
    )


def _parse_palette(text):
    """The `palette` field ("#rrggbb,...") as a tuple of (r, g, b), None if absent or
    empty; a one-line ValueError (`guidance.GuideError`) for anything else."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise ValueError("palette must be a form field, not a file")
    if text.count(",") >= _MAX_PALETTE:
        raise ValueError(f"palette: at most {_MAX_PALETTE} colours")
    return tuple(guidance.parse_palette(text))


def _parse_hints(text):
    """The `hints` field (JSON) as `user_hints.Hints`, None if absent or empty; a
    one-line ValueError (400) for anything else, however hostile."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError("hints must be a form field, not a file")
    try:
        hints = user_hints.parse_hints_json(text)
    except user_hints.HintError as problem:
        raise ValueError(f"hints: {problem}") from None
    return hints if len(hints) else None


def _source(service, form):
    """The photo of a request: (the upload or the kept `Upload`, its file name, the id
    it is kept under or None). ValueError (400) or LookupError (410) say why not."""
    if len(form.getlist("file")) > 1 or len(form.getlist("reference")) > 1:
        raise ValueError(
            "too many files: send one photo in 'file' (and one in 'reference')"
        )
    upload, image_id = form.get("file"), form.get("image_id")
    if image_id is not None and upload is not None:
        raise ValueError("send the photo in 'file' or name it by 'image_id', not both")
    if image_id is None:
        if upload is None or isinstance(upload, str):
            raise ValueError("no photo: send it in the multipart field 'file'")
        return upload, upload.filename or "photo", None
    if service.uploads is None:
        raise ValueError("this model takes no hints: send the photo in 'file'")
    kept = service.uploads.get(image_id) if isinstance(image_id, str) else None
    if kept is None:
        raise LookupError(
            "the server no longer keeps this photo (image_id): send it again in 'file'"
        )
    return kept, kept.filename, image_id


def _busy(full):
    return error(503, str(full), {"Retry-After": str(full.retry_after)})


async def colorize_endpoint(request):
    """POST /api/colorize: the photo in `file` (or a kept one, `image_id`) -> the
    colorized image, same size."""
    return await _job_endpoint(request, "colorize")


async def uncertainty_endpoint(request):
    """POST /api/uncertainty: the photo -> a PNG heat map of how unsure the model is
    (`analysis`: at most `analysis.DISPLAY_SIDE` pixels on its longer side)."""
    return await _job_endpoint(request, "uncertainty")


async def suggest_endpoint(request):
    """POST /api/suggest: the photo (and `k`) -> JSON of the spots to hint, best
    first."""
    return await _job_endpoint(request, "suggest")


async def variants_endpoint(request):
    """POST /api/variants: the photo (and `n`, `seed`) -> JSON of `n` variants and
    the hints each was made with."""
    return await _job_endpoint(request, "variants")


async def _job_endpoint(request, task):
    """Reads the form, queues the job of `task` and answers its result (or a JSON
    error)."""
    service = request.app.state.service
    if service is None:
        return error(503, "this server runs the survey only (--survey-only)")
    if service.full():  # answer at once, without reading the upload
        return _busy(QueueFull(service.retry_after()))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return error(415, "send the photo as multipart/form-data in the field 'file'")
    fields = _FORM_FIELDS[task]
    async with request.form(max_files=2, max_fields=len(fields)) as form:
        try:
            source, filename, image_id = _source(service, form)
            options = _parse_options(form, task)
            service.runner.check(options)
            if task != "colorize":
                service.runner.check_task(task)
        except ValueError as problem:
            return error(400, str(problem))
        except LookupError as problem:
            return error(410, str(problem))
        limit = service.limits.max_bytes
        for what, upload in (("file", source), ("reference", options.reference)):
            if isinstance(upload, UploadFile) and (upload.size or 0) > limit:
                return error(
                    413, f"the {what} is larger than the limit of {limit / 2**20:g} MB"
                )
        if image_id is None:  # an upload, not a kept photo
            source = source.file
        if options.reference is not None:
            options = dataclasses.replace(options, reference=options.reference.file)
        try:
            service.admit()
        except QueueFull as full:
            return _busy(full)
        try:
            result = await service.run(source, options, filename, task)
        except TooLarge as problem:
            return error(413, str(problem))
        except guidance.GuideError as problem:
            return error(400, str(problem))
        except image_io.ImageError as problem:
            status = 400 if str(problem) == "empty file" else 422
            return error(status, f"{filename}: {problem}")
        except user_hints.HintError as problem:
            return error(422, f"hints: {problem}")
        except colorize.ModelError as problem:
            return error(500, f"cannot colorize {filename}: {problem}")
    if task == "colorize":
        return _image_response(result, filename, options, image_id or result.image_id)
    headers = {"X-Colorize-Seconds": f"{result.seconds:.3f}", **result.headers}
    if image_id or result.image_id:
        headers["X-Image-Id"] = image_id or result.image_id
    return Response(result.data, media_type=result.media_type, headers=headers)


def _image_response(result, filename, options, image_id):
    """The colorized image as an inline download named after the upload."""
    stem = os.path.splitext(os.path.basename(filename))[0] or "photo"
    suffix = {"colorized": "_colorized", "compare": "_compare", "grey": "_grey"}
    name = f"{stem}{suffix[options.output]}{result.extension}"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    headers = {
        "Content-Disposition": f'inline; filename="{ascii_name}"; '
        f"filename*=UTF-8''{urllib.parse.quote(name)}",
        "X-Colorize-Seconds": f"{result.seconds:.3f}",
        "Cache-Control": "no-store",  # a private photo: kept by no cache
    }
    if image_id is not None:
        headers["X-Image-Id"] = image_id
    return Response(result.data, media_type=result.media_type, headers=headers)


async def health(request):
    """GET /api/health: the model is loaded (the app starts only once it is)."""
    state = request.app.state
    if state.service is None:
        return JSONResponse(
            {"status": "ok", "model_loaded": False, "survey": state.survey is not None}
        )
    hinted = bool(getattr(state.service.runner, "hinted", False))
    guided = bool(getattr(state.service.runner, "guided", False))
    return JSONResponse(
        {
            "status": "ok",
            "model_loaded": True,
            "model": state.model_name,
            "options": state.service.runner.describe(),
            "hints": hinted,
            # A bins head: a colour distribution to guide, measure and sample.
            "guidance": guided,
            "uncertainty": guided,
            "suggestions": guided,
            "variants": guided and hinted,
            "guide_strength": guidance.DEFAULT_STRENGTHS["reference"],
            "guide_strengths": guidance.DEFAULT_STRENGTHS,
            "limits": {
                "max_bytes": state.service.limits.max_bytes,
                "max_pixels": state.service.limits.max_pixels,
                "size_range": list(colorize.SIZE_RANGE),
                "qualities": list(colorize.QUALITIES),
                "memory_budget": state.service.memory.total,
            },
            "queue": {
                "pending": state.service.pending,
                "capacity": state.service.limits.queue_size,
            },
            "survey": state.survey is not None,
        }
    )


async def index(request):
    return FileResponse(os.path.join(static_dir(), "index.html"))


async def http_error(request, exc):
    return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def server_error(request, exc):
    # Outside the app's middleware: the security headers are added here.
    return error(500, f"internal error: {type(exc).__name__}", guards.SECURITY_HEADERS)


def create_app(
    service, survey=None, model_name="model", allowed_hosts=None, read_timeout=20.0
):
    """The Starlette app.

    Args:
        service: The `ColorizeService` every request shares, or None to serve the
            survey only.
        survey: A `survey_routes.Survey`, or None for no survey.
        model_name: What `/api/health` calls the model.
        allowed_hosts: The Host names it answers to (`guards.allowed_hosts`); None
            for any (a server on the network should name them).
        read_timeout: Seconds to wait for the next piece of a request body (408).
    """
    from colorization.app import survey_routes

    routes = [
        Route("/", index),
        Route("/api/health", health),
        Route("/api/colorize", colorize_endpoint, methods=["POST"]),
        Route("/api/uncertainty", uncertainty_endpoint, methods=["POST"]),
        Route("/api/suggest", suggest_endpoint, methods=["POST"]),
        Route("/api/variants", variants_endpoint, methods=["POST"]),
        *survey_routes.routes(),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    limits = service.limits if service else colorize.Limits(max_bytes=0)
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(guards.SecurityHeaders),
            Middleware(guards.HostCheck, hosts=allowed_hosts or ["*"]),
            Middleware(
                guards.UploadGate,
                max_bytes=limits.max_bytes,
                in_flight=limits.uploads_in_flight,
                read_timeout=read_timeout,
                retry_after=service.retry_after if service else None,
                slack=_FORM_OVERHEAD,
            ),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.service = service
    app.state.survey = survey
    app.state.model_name = model_name
    return app
