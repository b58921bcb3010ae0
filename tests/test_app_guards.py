"""The web app's guards (issue 20): browser security headers on every response, the
Host check against DNS rebinding, the warning of a server on the network, and a real
uvicorn server on 127.0.0.1 closing half-sent requests and refusing what it cannot
hold (connections, uploads in flight). Tiny models; waits are for a state, never a
time."""

import contextlib
import re
import socket
import threading
import time
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():  # Starlette 1.10 asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from colorization.app import guards, server, serving
from colorization.app.colorize import ColorizeService, Limits, ModelRunner
from colorization.app.server import static_dir
from colorization.cli import app as app_main
from colorization.inference.colorizer import Colorizer
from tests.conftest import encode
from tests.inference_helpers import constant_ab_model

GREY = encode(np.full((24, 32), 120, np.uint8), "PNG")


@pytest.fixture(scope="module")
def runner():
    return ModelRunner(Colorizer([constant_ab_model(0.2, -0.1)], size=32))


def _app(runner, hosts=None, read_timeout=30.0, **limits):
    service = ColorizeService(runner, Limits(**limits))
    return server.create_app(service, allowed_hosts=hosts, read_timeout=read_timeout)


def _post(client, data=GREY, **fields):
    return client.post(
        "/api/colorize", files={"file": ("grey.png", data, "image/png")}, data=fields
    )


def _check_headers(response, what):
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", what
    assert headers["x-frame-options"] == "DENY", what
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_every_response_has_the_security_headers_and_photos_are_not_cached(runner):
    with TestClient(_app(runner)) as client:
        result = _post(client)
        assert result.status_code == 200
        assert result.headers["cache-control"] == "no-store"
        responses = {
            "a photo": result,
            "the page": client.get("/"),
            "a script": client.get("/static/app.js"),
            "a style sheet": client.get("/static/style.css"),
            "the survey page": client.get("/static/survey.html"),
            "health": client.get("/api/health"),
            "an API error": _post(client, b"not an image"),
            "no such route": client.get("/nothing/here"),
            "the survey's routes": client.get("/survey"),
            "a wrong method": client.get("/api/colorize"),
        }
        for what, response in responses.items():
            _check_headers(response, what)
        assert responses["health"].headers["cache-control"] == "no-store"
        assert responses["an API error"].headers["cache-control"] == "no-store"


def test_the_pages_run_under_the_policy_no_inline_script_or_style():
    import importlib.resources

    templates = importlib.resources.files("colorization.app") / "templates"
    pages = [static_dir() + "/index.html", static_dir() + "/survey.html"]
    pages += [str(templates / "results.html")]
    for path in pages:
        with open(path, encoding="utf-8") as f:
            html = f.read()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html), path
    for name in ("app.js", "survey.js", "zip.js"):
        with open(f"{static_dir()}/{name}", encoding="utf-8") as f:
            script = f.read()
        assert not re.search(r"\beval\(|new Function\(|setAttribute\('style", script)


def test_only_requests_naming_this_server_are_answered(runner):
    hosts = guards.allowed_hosts("127.0.0.1")
    assert set(hosts) == {"localhost", "127.0.0.1", "::1"}
    with TestClient(_app(runner, hosts), base_url="http://127.0.0.1:8000") as client:
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
            response = client.get("/api/health", headers={"host": host})
            assert response.status_code == 200, host
        assert _post(client).status_code == 200
        for host in ("evil.example:8000", "127.0.0.1.evil.example", "", "[::1"):
            refused = client.get("/", headers={"host": host})
            assert refused.status_code == 400, host
            message = refused.json()["error"]
            assert "--allowed-host" in message and "\n" not in message
            _check_headers(refused, host)
        refused = client.post(
            "/api/colorize",
            files={"file": ("grey.png", GREY, "image/png")},
            headers={"host": "attacker.example"},
        )
        assert refused.status_code == 400


def test_a_server_on_the_network_answers_its_addresses_and_the_names_given():
    everywhere = guards.HostCheck(None, guards.allowed_hosts("0.0.0.0", ["photos.lan"]))
    for host in ("192.168.1.20:8000", "[fe80::1]", "photos.lan", "localhost:1"):
        assert everywhere.allows(host), host
    assert socket.gethostname().lower() in guards.allowed_hosts("::")
    assert not everywhere.allows("evil.example") and not everywhere.allows("")
    one = guards.HostCheck(None, guards.allowed_hosts("192.168.1.20"))
    assert one.allows("192.168.1.20:8000") and not one.allows("192.168.1.21")
    assert guards.HostCheck(None, ["*"]).allows("anything.example")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "photos.lan"])
def test_a_server_other_machines_reach_warns_that_it_has_no_login(host):
    warning = app_main.exposure_warning(host)
    assert warning.startswith("colorization-app: warning:") and "\n" not in warning
    assert host in warning and "without any login" in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_a_server_of_this_machine_only_does_not_warn(host):
    assert app_main.exposure_warning(host) is None


# A real uvicorn server (the app's own configuration) on a free port of 127.0.0.1.


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@contextlib.contextmanager
def _served(app, *flags):
    import uvicorn

    args = app_main.parse_args(["--log-level", "critical", *flags])
    sock = serving.listen("127.0.0.1", 0)
    config = serving.server_config(
        app, args.log_level, args.read_timeout, args.max_connections
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: uv.started)
        yield sock.getsockname()[1], uv
    finally:
        uv.should_exit = True
        thread.join(60)
        sock.close()


def _connect(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.settimeout(60)  # a generous bound: the server is expected much sooner
    return connection


def _read_all(connection):
    """Everything the server sends until it closes the connection."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _head(port, length, path="/api/colorize"):
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _gate(app):
    layer = app.middleware_stack
    while not isinstance(layer, guards.UploadGate):
        layer = layer.app
    return layer


def test_connections_whose_request_does_not_come_are_closed(runner):
    app = _app(runner, read_timeout=0.5)
    with _served(app, "--read-timeout", "0.5") as (port, uv):
        silent = _connect(port)  # sends nothing
        half_head = _connect(port)
        half_head.sendall(b"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        half_body = _connect(port)
        half_body.sendall(_head(port, 100_000) + b"--xyz\r\nContent-Dispo")
        assert _read_all(silent) == b"" and _read_all(half_head) == b""
        answer = _read_all(half_body)
        assert answer.startswith(b"HTTP/1.1 408 ") and b'{"error":' in answer
        _wait_for(lambda: len(uv.server_state.connections) == 0)
        assert _gate(app).held == 0
        for connection in (silent, half_head, half_body):
            connection.close()
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200


def test_uploads_in_flight_over_the_cap_get_a_503_with_retry_after(runner):
    import httpx

    mb = 2**20
    app = _app(runner, max_bytes=2 * mb, uploads_in_flight=3 * mb)
    with _served(app) as (port, _):
        held = []
        for _ in range(2):  # two uploads of 1.2 MB that stop half-way
            connection = _connect(port)
            connection.sendall(_head(port, 1_200_000) + b"--xyz\r\n")
            held.append(connection)
        _wait_for(
            lambda: app.middleware_stack is not None and _gate(app).held == 2_400_000
        )
        url = f"http://127.0.0.1:{port}/api/colorize"
        body = bytes(1_200_000)
        refused = httpx.post(url, files={"file": ("big.png", body, "image/png")})
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
        assert "busy receiving other uploads" in refused.json()["error"]
        small = httpx.post(url, files={"file": ("grey.png", GREY, "image/png")})
        assert small.status_code == 200  # 2.4 MB + a small one fit in 3 MB
        for connection in held:
            connection.close()
        _wait_for(lambda: _gate(app).held == 0)
        again = httpx.post(url, files={"file": ("big.png", body, "image/png")})
        assert again.status_code == 422  # received and read: not an image


def test_connections_over_the_cap_get_a_503(runner):
    import httpx

    with _served(_app(runner), "--max-connections", "3") as (port, uv):
        idle = [_connect(port) for _ in range(3)]
        _wait_for(lambda: len(uv.server_state.connections) == 3)
        refused = httpx.get(f"http://127.0.0.1:{port}/api/health")
        assert refused.status_code == 503
        for connection in idle:
            connection.close()
        _wait_for(lambda: len(uv.server_state.connections) == 0)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
