"""ASGI middleware that guards the app against pages of other sites and greedy clients.

    app = Starlette(routes, middleware=[
        Middleware(SecurityHeaders),
        Middleware(HostCheck, hosts=allowed_hosts("127.0.0.1")),
        Middleware(UploadGate, max_bytes=..., in_flight=..., read_timeout=30.0),
    ])

`timed_h11` is uvicorn's HTTP/1.1 protocol closing a connection whose request head has
not come in time. `SecurityHeaders` adds the browser's protections to every response (no sniffing, no
framing, a Content Security Policy allowing this server's own files only, and no
caching of the API's answers). `HostCheck` answers only requests whose Host header names
this server, so that a page of another site cannot reach it through a DNS name it
points at 127.0.0.1 (DNS rebinding). `UploadGate` bounds a request body (413), the
bodies received or held at once (503 with Retry-After) and the wait for the next
piece of a body (408).
"""

import asyncio
import ipaddress
import json
import socket

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

# The page and the survey use their own scripts and styles from /static only;
# colorized photos are shown, read back and downloaded as blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = ("", "0.0.0.0", "::")


async def _send_error(send, status, message, headers=None):
    """A JSON `{"error": message}` response, straight to the ASGI `send`."""
    body = json.dumps({"error": message}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every HTTP response (keeping any the route set), and
    `Cache-Control: no-store` to the API's (`/api/...`)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_loopback(host):
    """Whether a bind address or host name is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind, extra=()):
    """The Host names a server bound to `bind` answers to: this machine's loopback
    names, the bind address, and for a wildcard bind (0.0.0.0, ::) this machine's
    host name and any IP address (a DNS rebinding attack needs a name); plus `extra`
    ("*": every host)."""
    hosts = set(LOOPBACK_HOSTS) | {h.lower() for h in extra}
    if bind in _WILDCARDS:
        hostname = socket.gethostname().lower()
        hosts |= {"*ip", hostname, f"{hostname}.local", socket.getfqdn().lower()}
    else:
        hosts.add(bind.lower())
    return sorted(hosts)


def _host_name(header):
    """The host of a Host header, without its port and brackets; None if malformed."""
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else None
    name, _, port = header.partition(":")
    return name if not port or port.isdigit() else None


class HostCheck:
    """Answers 400 to a request whose Host header is not one of `hosts` ("*": any;
    "*ip": any IP address).

    Args:
        app: The ASGI app.
        hosts: Host names and IP addresses, as `allowed_hosts` gives them.
    """

    def __init__(self, app, hosts):
        self.app = app
        self.hosts = {h.lower().strip("[]") for h in hosts}

    def allows(self, header):
        name = _host_name(header.lower())
        if name is None:
            return False
        if "*" in self.hosts or name in self.hosts:
            return True
        if "*ip" in self.hosts:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or "*" in self.hosts:
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if self.allows(header):
            return await self.app(scope, receive, send)
        shown = header[:80] or "(none)"
        message = (
            f"the Host header {shown!r} is not a name of this server: open it by "
            "its address, or start it with --allowed-host NAME"
        )
        if scope["type"] == "http":
            await _send_error(send, 400, message)
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": message})


class UploadGate:
    """Bounds request bodies: each one (`max_bytes`, 413), those received or held
    (until their request ends) at once (`in_flight`, 503 with Retry-After), and the
    wait for each piece of a body (`read_timeout` seconds, 408).

    Args:
        app: The ASGI app.
        max_bytes: Largest upload.
        in_flight: Bytes of bodies at once (never below the largest body).
        read_timeout: Seconds to wait for the next piece of a body.
        retry_after: A function giving the Retry-After of a 503, in seconds.
        slack: Bytes a body may have beyond `max_bytes` (multipart headers and the
            small form fields).
    """

    def __init__(
        self, app, max_bytes, in_flight, read_timeout=30.0, retry_after=None, slack=0
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.max_body = max_bytes + slack
        self.in_flight = max(in_flight, self.max_body)
        self.read_timeout = read_timeout
        self.retry_after = retry_after or (lambda: 5)
        self.held = 0  # bytes of the bodies in flight (declared or read)

    def _too_large(self):
        return f"the upload is larger than the limit of {self.max_bytes / 2**20:g} MB"

    def _busy(self):
        return HTTPException(
            503,
            "the server is busy receiving other uploads: try again shortly",
            headers={"Retry-After": str(self.retry_after()), "Connection": "close"},
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        declared = int(length) if length.isdigit() else 0
        if declared > self.max_body:
            return await _send_error(send, 413, self._too_large())
        if declared and self.held + declared > self.in_flight:
            busy = self._busy()
            return await _send_error(send, 503, busy.detail, busy.headers)
        mine, read, done = declared, 0, False
        self.held += mine

        async def guarded_receive():
            nonlocal mine, read, done
            if done:  # the body is in: waiting for a disconnect has no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except asyncio.TimeoutError:
                raise HTTPException(
                    408,
                    f"no part of the request body came for {self.read_timeout:g} s",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body:
                    raise HTTPException(
                        413, self._too_large(), headers={"Connection": "close"}
                    )
                if read > mine:  # a body without Content-Length, or a longer one
                    if self.held + read - mine > self.in_flight:
                        raise self._busy()
                    self.held += read - mine
                    mine = read
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        try:
            await self.app(scope, guarded_receive, send)
        finally:
            self.held -= mine


def timed_h11(head_timeout):
    """uvicorn's h11 protocol class, closing a connection when the head (request line
    and headers) of its next request has not come within `head_timeout` seconds of
    its opening or of the previous response (uvicorn itself waits for ever)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self._wait_for_head()

        def on_response_complete(self):
            super().on_response_complete()
            self._wait_for_head()

        def _wait_for_head(self):
            self.loop.call_later(head_timeout, self._head_timeout, self.cycle)

        def _head_timeout(self, cycle):
            waiting = cycle is None or cycle.response_complete
            if self.cycle is cycle and waiting and not self.transport.is_closing():
                self.transport.close()  # no new request has begun

    return TimedH11Protocol
