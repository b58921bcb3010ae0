"""The command-line entry points (`colorize`, `colorization-train`, ...), and what
they share: one-line errors and a quiet TensorFlow start-up.

Each entry point parses its flags before importing TensorFlow, so `--help` and bad
flags answer at once; `python infer.py`, `python train.py`, ... call the same `main`.
"""

import argparse
import os
import re
import sys
import tempfile

# A line in Abseil's log format, as TensorFlow's C++ libraries print it:
# "I0000 00:00:1796547194.069400    6692 port.cc:153] message" (severity I, W, E or F).
_LOG_RECORD = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ")
# Abseil's notice that logging is not set up yet, printed before the first record.
_ABSL_NOTICE = "All log messages before absl::InitializeLog() is called"
# A Python warning ("path.py:12: UserWarning: ..."): never part of a log record.
_PYTHON_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ")
# Errors TensorFlow logs while it probes for a GPU on a machine without one.
_NO_GPU = re.compile(r"cuda|cuInit|Unable to register cu|computation_placer")


def start_up_messages(log):
    """The lines of TensorFlow's start-up `log` a user should see.

    Judged by what the lines are, not by which ones a given CPU or build prints:
    information and warning records (CPU features, oneDNN, "no GPU", ...) and
    Abseil's notice are dropped, with the lines that continue them; so are the errors
    of the GPU probe. Error and fatal records, and anything not in the log format
    (a Python warning, say), are kept.
    """
    kept, dropping = [], False
    for line in log.splitlines():
        record = _LOG_RECORD.match(line)
        if record:
            severity = record.group(1)
            dropping = severity in "IW" or bool(
                severity == "E" and _NO_GPU.search(line)
            )
        elif _ABSL_NOTICE in line:
            dropping = True
        elif _PYTHON_WARNING.match(line):
            dropping = False
        if line.strip() and not dropping:
            kept.append(line)
    return kept


class FlagError(ValueError):
    """A bad flag or flag value; the entry point prints it as one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises `FlagError` instead of printing its usage."""

    def error(self, message):
        raise FlagError(message)


# gperftools' allocator (Debian: libtcmalloc-minimal4), in the order tried.
TCMALLOC = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4")
ALLOCATOR_VARIABLE = "COLORIZATION_ALLOCATOR"  # "system" keeps glibc's malloc


def prefer_tcmalloc(argv=None):
    """Restarts this command with tcmalloc preloaded, when it is installed.

    glibc's malloc returns TensorFlow's large step buffers to the kernel and faults
    them back in on the next step: on a 2-core AMD EPYC without AVX-512 that was
    half the CPU time, and tcmalloc made training 1.35x faster (docs/training.md).
    So `train.py` chooses it itself, instead of asking users for an `LD_PRELOAD`. Nothing happens when `argv` is given (a call from Python, not
    a command line), when tcmalloc is already loaded or not installed, or when
    COLORIZATION_ALLOCATOR=system. Call it before TensorFlow is imported: the
    process is replaced (same PID, same arguments).
    """
    if argv is not None or os.environ.get(ALLOCATOR_VARIABLE) in ("system", "tcmalloc"):
        return
    preload = os.environ.get("LD_PRELOAD", "")
    if "tcmalloc" in preload or not sys.platform.startswith("linux"):
        return
    import ctypes

    for name in TCMALLOC:
        try:
            ctypes.CDLL(name)  # found by the dynamic loader: installed
        except OSError:
            continue
        env = dict(os.environ, LD_PRELOAD=f"{name} {preload}".strip())
        env[ALLOCATOR_VARIABLE] = "tcmalloc"  # restart once, never again
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def program(default, argv=None):
    """The name a command's errors and usage go under: the program actually run.

    `colorize` for the console script, `infer.py` for `python infer.py`,
    `python -m colorization.cli.infer` for that; `default` when `main(argv)` is called
    from Python with its own `argv` (a test, a script), or when there is no name.
    """
    if argv is not None:
        return default
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:  # python -m package.module
        return "python -m " + spec.name.removesuffix(".__main__")
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return default if name in ("", "-c", "-") else name


def run_tool(prog, parse, work, errors=(FileNotFoundError, ValueError)):
    """The body of a tool's `main`: `parse()` its flags (a `FlagError` is one line,
    exit 2), import TensorFlow quietly (`--verbose` keeps its log), then `work(args)`
    (an error of `errors` is one line, exit 2). Returns the exit status: 0, or what
    `work` returns."""
    try:
        args = parse()
    except FlagError as error:
        return fail(prog, error)
    quiet_tensorflow(args.verbose)
    try:
        return work(args) or 0
    except errors as error:
        return fail(prog, error)


def keras_output(args):
    """Checks that `args.output` names a `.keras` file; returns `args`."""
    if not args.output.endswith(".keras"):
        raise FlagError(f"the output must end in .keras, not {args.output!r}")
    return args


def one_line(error):
    """An error message on one line (TensorFlow's can span many)."""
    return " ".join(str(error).split())


def fail(prog, error, status=2):
    """Prints `prog: error: ...` as one line on stderr and returns `status`."""
    print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
    return status


def add_verbose_flag(parser):
    """Adds --verbose (TensorFlow's start-up log) to `parser`."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's own start-up log (hidden unless TF_CPP_MIN_LOG_LEVEL "
        "is set)",
    )


def quiet_opencv(verbose=False):
    """Keeps OpenCV's FFmpeg from printing its own lines about a damaged video (the
    entry point reports one line per file instead). Call before the first video is
    opened; environment variables set by the user win, and `verbose` keeps everything.
    """
    if verbose:
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's AV_LOG_QUIET
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def quiet_tensorflow(verbose=False):
    """Imports TensorFlow without its C++ start-up log on the terminal.

    TF_CPP_MIN_LOG_LEVEL set by the user wins, and `verbose` keeps everything. Else
    the level is set to 3 and the lines TensorFlow's libraries print while they load
    (before that level applies) are captured; only errors among them are passed on to
    stderr (`start_up_messages`).
    """
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import tensorflow  # noqa: F401

        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        log = captured.read().decode("utf-8", "replace")
    for line in start_up_messages(log):
        print(line, file=sys.stderr)
