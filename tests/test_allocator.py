"""The entry points choose tcmalloc themselves when it is installed (issue 22)."""

import ctypes
import os
import subprocess
import sys

import pytest

from colorization import cli

_REPORT = (
    "import sys; from colorization import cli; cli.prefer_tcmalloc(); "
    "maps = open('/proc/self/maps').read(); "
    "print('tcmalloc' in maps, sys.argv[1:])"
)


def _installed():
    for name in cli.TCMALLOC:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            pass
    return False


def _run(env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD",)}
    env.pop(cli.ALLOCATOR_VARIABLE, None)
    env |= env_changes
    result = subprocess.run(
        [sys.executable, "-c", _REPORT, "a", "b c"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_a_command_line_restarts_with_tcmalloc_when_installed_and_keeps_its_arguments():
    expected = "True" if _installed() else "False"
    assert _run({}) == f"{expected} ['a', 'b c']"


def test_the_system_allocator_can_be_kept():
    assert _run({cli.ALLOCATOR_VARIABLE: "system"}) == "False ['a', 'b c']"


def test_a_call_from_python_never_restarts():
    cli.prefer_tcmalloc(["--help"])  # returns: this process is not replaced
