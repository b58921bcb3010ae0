"""TensorFlow's start-up log is judged by what its lines are, so the command line is
quiet on any CPU: AVX2-only AMD, AVX-512 Intel or AMD, or one not seen yet."""

import pytest

from colorization.cli import start_up_messages

_AMD_AVX2 = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796547188.388517    6500 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796547188.431016    6500 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796547189.100126    6500 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered
"""

# AVX-512 machines also print oneDNN's notice, twice.
_AVX512 = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796547194.069400    6692 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796547188.431016    6500 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
I0000 00:00:1796547195.690885    6692 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
"""


@pytest.mark.parametrize("log", [_AMD_AVX2, _AVX512], ids=["avx2", "avx512"])
def test_start_up_lines_of_either_cpu_are_hidden(log):
    assert start_up_messages(log) == []


def test_information_and_warnings_never_seen_before_are_hidden_too():
    log = (
        "I1206 08:51:40.123456   17 some_future_kernel.cc:42] AMX tiles are on.\n"
        "W0000 00:00:1796547194.1   17 tpu_probe.cc:9] no TPU found\n"
        "  details of that warning on a second line\n"
    )
    assert start_up_messages(log) == []


def test_errors_and_python_warnings_are_shown():
    error = "E0000 00:00:1796547194.1   17 op_kernel.cc:1] could not load libfoo.so"
    python_warning = "/usr/lib/python3/x.py:12: UserWarning: numpy is too old"
    log = "\n".join(
        [
            "I0000 00:00:1796547194.1   17 port.cc:153] oneDNN custom operations are on.",
            python_warning,
            "  warnings.warn(",
            error,
            "Traceback (most recent call last):",
        ]
    )
    assert start_up_messages(log) == [
        python_warning,
        "  warnings.warn(",
        error,
        "Traceback (most recent call last):",
    ]
