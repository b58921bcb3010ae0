"""Serve the colorize page, its HTTP API and the naturalness survey on this machine.

    colorization-app                                     # http://127.0.0.1:8000
    colorization-app --model runs/unet/model.keras --port 8080
    colorization-app --survey-images survey_set/ --survey-db survey.sqlite3
    colorization-app --host 0.0.0.0 --survey-images survey_set/   # LAN: no login!
    colorization-app --survey-only --survey-images survey_set/    # no model loaded
    colorization-app --host 0.0.0.0 --allowed-host photos.lan  # a name it answers to

(`python -m colorization.app ...` is the same command.) The model is loaded (and its
graph traced) before the server answers, so the first photo is as fast as the next.
The survey's results and exports need its admin token, printed at start-up (or set
it: COLORIZATION_SURVEY_TOKEN or --survey-token). Otherwise the app has no
authentication: with --host 0.0.0.0 everyone on the network can colorize photos and
vote (it says so when it starts).

It answers only requests that name it in their Host header (this machine's loopback
names, the bind address, --allowed-host), so that no page of another site reaches it
through DNS rebinding, and it bounds what clients may hold: the memory of the photos
being colorized, the uploads being received, the connections, and the time a request
may take to come in.
"""

import os
import sys

from colorization import cli
from colorization.inference import image_io

PROG = "colorization-app"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0: any free port)"
    )
    p.add_argument("--model", help="a .keras model (default: the shipped model)")
    p.add_argument(
        "--size", type=int, help="longer side the network sees (default: the model's)"
    )
    p.add_argument("--temperature", type=float, help="default temperature (bins head)")
    p.add_argument("--blend", type=float, help="default blend (two-head models)")
    p.add_argument(
        "--survey-images",
        help="folder with real/ (colour photos) and one folder per colorizer",
    )
    p.add_argument(
        "--survey-only",
        action="store_true",
        help="serve the survey without loading a model (no colorizing)",
    )
    p.add_argument(
        "--survey-db",
        default="survey.sqlite3",
        help="SQLite file of the votes (default ./survey.sqlite3)",
    )
    p.add_argument(
        "--survey-token",
        default=os.environ.get("COLORIZATION_SURVEY_TOKEN"),
        help="admin token of the survey's results and exports, 16 characters or more "
        "(default: $COLORIZATION_SURVEY_TOKEN, else a random one, printed)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=50.0,
        help="largest upload in MB (default 50)",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=image_io.DEFAULT_MAX_PIXELS,
        help=f"refuse larger images (default {image_io.DEFAULT_MAX_PIXELS})",
    )
    p.add_argument(
        "--queue-size",
        type=int,
        default=16,
        help="photos accepted at once; more are answered 503 (default 16)",
    )
    p.add_argument(
        "--max-memory-mb",
        type=float,
        help="memory for the photos colorized at once; a photo needing more is "
        "refused (default: a quarter of this machine's memory)",
    )
    p.add_argument(
        "--uploads-in-flight-mb",
        type=float,
        default=256.0,
        help="uploads being received or waiting at once; more are answered 503 "
        "(default 256)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=256,
        help="open connections; requests beyond are answered 503 (default 256)",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=20.0,
        help="seconds a request's head, or the next piece of its body, may take "
        "to come (default 20)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name the server also answers to (repeat it; '*': any)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="server log level (default info: one line per request)",
    )
    cli.add_verbose_flag(p)
    return p


def parse_args(argv, prog=PROG):
    """The parsed flags; `cli.FlagError` for a bad one."""
    args = parser(prog).parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise cli.FlagError("--port must be from 0 to 65535")
    if args.size is not None and args.size < 8:
        raise cli.FlagError("--size must be at least 8")
    if args.temperature is not None and not args.temperature > 0:
        raise cli.FlagError("--temperature must be > 0")
    if args.blend is not None and not 0.0 <= args.blend <= 1.0:
        raise cli.FlagError("--blend must be in [0, 1]")
    if not args.max_upload_mb > 0:
        raise cli.FlagError("--max-upload-mb must be > 0")
    if args.max_pixels < 1:
        raise cli.FlagError("--max-pixels must be at least 1")
    if args.queue_size < 1:
        raise cli.FlagError("--queue-size must be at least 1")
    for flag in ("max_memory_mb", "uploads_in_flight_mb", "read_timeout"):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise cli.FlagError(f"--{flag.replace('_', '-')} must be > 0")
    if args.max_connections < 1:
        raise cli.FlagError("--max-connections must be at least 1")
    if args.survey_only and not args.survey_images:
        raise cli.FlagError("--survey-only needs --survey-images")
    return args


def exposure_warning(host, prog=PROG):
    """The one-line warning for a server other machines can reach, or None."""
    from colorization.app import guards

    if guards.is_loopback(host):
        return None
    return (
        f"{prog}: warning: listening on {host} without any login: everyone who can "
        "reach this machine can colorize photos and vote in the survey"
    )


def main(argv=None):
    """Serves until interrupted; returns the exit status (2: bad flags or model)."""
    prog = cli.program(PROG, argv)
    try:
        args = parse_args(argv, prog)
    except cli.FlagError as error:
        return cli.fail(prog, error)
    from colorization.app import serving, survey_routes
    from colorization.app.survey import SurveyError

    try:
        survey = (
            survey_routes.Survey.open(
                args.survey_images, args.survey_db, args.survey_token
            )
            if args.survey_images
            else None
        )
        sock = serving.listen(args.host, args.port)
    except (SurveyError, OSError) as error:
        return cli.fail(prog, error)
    service = None
    if not args.survey_only:
        try:
            cli.quiet_tensorflow(args.verbose)
            print(f"{prog}: loading the model...", file=sys.stderr, flush=True)
            service = serving.load_service(
                args.model, limits(args), args.size, args.temperature, args.blend
            )
        except (FileNotFoundError, ValueError) as error:
            sock.close()
            return cli.fail(prog, error)
    from colorization.app import guards, server

    name = os.path.basename(args.model) if args.model else "shipped default"
    app = server.create_app(
        service,
        survey,
        model_name=name,
        allowed_hosts=guards.allowed_hosts(args.host, args.allowed_host),
        read_timeout=args.read_timeout,
    )
    _announce(prog, args, sock.getsockname(), survey)
    config = serving.server_config(
        app, args.log_level, args.read_timeout, args.max_connections
    )
    serving.serve(app, sock, config, service)
    return 0


def _announce(prog, args, address, survey):
    """The start-up lines on stderr: where it serves, the warning of a server other
    machines reach, and the survey's links."""
    host, port = address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"{prog}: serving on http://{shown}:{port}", file=sys.stderr, flush=True)
    warning = exposure_warning(args.host, prog)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if survey is not None:
        print(
            f"{prog}: survey of {len(survey.photos.photos)} photos at "
            f"http://{shown}:{port}/survey, votes in {args.survey_db}",
            file=sys.stderr,
            flush=True,
        )
        results = f"http://{shown}:{port}/survey/results"
        if args.survey_token is None:  # the only place a random token is shown
            results += f"?token={survey.admin_token}"
        else:
            results += " (admin token from --survey-token/COLORIZATION_SURVEY_TOKEN)"
        print(f"{prog}: survey results at {results}", file=sys.stderr, flush=True)


def limits(args):
    """What clients may hold of the model's service (`colorize.Limits`), from the
    flags."""
    from colorization.app import colorize

    mb = 1024 * 1024
    extra = (
        {"memory_budget": int(args.max_memory_mb * mb)} if args.max_memory_mb else {}
    )
    return colorize.Limits(
        max_bytes=int(args.max_upload_mb * mb),
        max_pixels=args.max_pixels,
        queue_size=args.queue_size,
        uploads_in_flight=int(args.uploads_in_flight_mb * mb),
        **extra,
    )


if __name__ == "__main__":
    sys.exit(main())
