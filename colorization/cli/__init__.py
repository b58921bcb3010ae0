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

# TensorFlow's start-up lines on a machine without a GPU (or without AVX-512): they
# read like failures ("failed call to cuInit") and say nothing a user can act on.
_START_UP_NOISE = re.compile(
    r"cudart_stub|cuda_platform|cuda_dnn|cuda_fft|cuda_blas|cuInit|"
    r"absl::InitializeLog|cpu_feature_guard|To enable the following instructions|"
    r"computation_placer|Unable to register cu"
)


class FlagError(ValueError):
    """A bad flag or flag value; the entry point prints it as one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises `FlagError` instead of printing its usage."""

    def error(self, message):
        raise FlagError(message)


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
    (before that level applies) are captured; any that is not known start-up noise is
    passed on to stderr.
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
        for line in captured.read().decode("utf-8", "replace").splitlines():
            if line.strip() and not _START_UP_NOISE.search(line):
                print(line, file=sys.stderr)
