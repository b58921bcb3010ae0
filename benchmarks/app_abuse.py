"""Load-and-abuse benchmark of the web app: the server's peak memory and the
latency of normal uploads, of a 40 MP flat PNG, under 200 half-open connections and
with 30 uploads at once, in one run against one real server on 127.0.0.1.

    python benchmarks/app_abuse.py                       # the shipped model
    python benchmarks/app_abuse.py --model tiny.keras --big-megapixels 0.5 \\
        --half-open 6 --concurrent 3 --normal 2 --read-timeout 1   # a smoke run

Starts `python -m colorization.app` (its default limits, --read-timeout as given) on a
free port of 127.0.0.1, the only address it sends to. For each scenario the server's
peak RSS is its VmHWM (/proc/PID/status, reset at the scenario's start through
/proc/PID/clear_refs) or, where that cannot be reset, the highest RSS sampled every
20 ms. The scenarios:

    normal      --normal uploads of 640 x 480 black-and-white JPEGs, one at a time
    big         one flat grey PNG of --big-megapixels (8:5), output 'compare'
    half-open   --half-open connections that send half a request head or half a
                body and then nothing; one normal upload meanwhile (its latency), and
                how long until the server has closed them all
    concurrent  --concurrent uploads at once; clients wait Retry-After on a 503

Prints a table, then one JSON object with every figure. The exit status is 1 if a
request fails other than by a 503, or a half-open connection is never closed.
"""

import argparse
import contextlib
import io
import json
import math
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from app import free_port, percentile, photos, rss_mb, start_server  # noqa: E402


class PeakRss:
    """The server's peak RSS over a scenario, in MB."""

    def __init__(self, pid):
        self.pid = pid
        self.sampled = 0.0
        self._stop = threading.Event()
        self._thread = None
        self.resettable = os.access(f"/proc/{pid}/clear_refs", os.W_OK)

    def __enter__(self):
        if self.resettable:
            with open(f"/proc/{self.pid}/clear_refs", "w", encoding="ascii") as f:
                f.write("5")  # VmHWM := VmRSS
        self.sampled = rss_mb(self.pid) or 0.0
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.sampled = max(self.sampled, rss_mb(self.pid) or 0.0)

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()
        high = rss_mb(self.pid, "VmHWM") if self.resettable else None
        self.peak = max(self.sampled, high or 0.0)


def post(url, name, data, timeout, retry=False, **fields):
    """(status, seconds, 503s seen) of one upload."""
    import httpx

    start, busy = time.perf_counter(), 0
    while True:
        try:
            answer = httpx.post(
                f"{url}/api/colorize",
                files={"file": (name, data)},
                data=fields,
                timeout=timeout,
            )
        except httpx.HTTPError:
            return 0, time.perf_counter() - start, busy
        if answer.status_code == 503 and retry and answer.headers.get("retry-after"):
            busy += 1
            time.sleep(int(answer.headers["retry-after"]))
            continue
        return answer.status_code, time.perf_counter() - start, busy


def flat_png(megapixels):
    from PIL import Image

    width = round(math.sqrt(megapixels * 1e6 * 8 / 5))
    height = round(width * 5 / 8)
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "PNG", optimize=True)
    return f"flat_{width}x{height}.png", buffer.getvalue()


def half_open(port, count):
    """`count` connections stopped half-way: half in the request head, half in the
    body."""
    connections = []
    for i in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = f"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        if i % 2:
            head += "Content-Type: multipart/form-data; boundary=b\r\n"
            head += "Content-Length: 40000000\r\n\r\n--b\r\nContent-Dispo"
        connection.sendall(head.encode())
        connections.append(connection)
    return connections


def wait_closed(connections, timeout):
    """Seconds until the server has closed every connection (None: not all were)."""
    start = time.perf_counter()
    for connection in connections:
        connection.settimeout(max(0.1, timeout - (time.perf_counter() - start)))
        try:
            while connection.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except OSError:  # timed out: still open
            return None
        finally:
            connection.close()
    return time.perf_counter() - start


def scenarios(args, url, port, pid):
    inputs = photos(640, 480)
    timeout = 600
    rows = []

    def row(name, requests, outcomes, peak, note=""):
        ok = sum(1 for status, _, _ in outcomes if status == 200)
        ms = [1000 * seconds for status, seconds, _ in outcomes if status == 200]
        rows.append(
            {
                "scenario": name,
                "requests": requests,
                "ok": ok,
                "refused": sum(busy for _, _, busy in outcomes)
                + sum(1 for status, _, _ in outcomes if status not in (200, 0)),
                "failed": sum(1 for status, _, _ in outcomes if status == 0),
                "p50_ms": percentile(ms, 50),
                "max_ms": round(max(ms), 1) if ms else None,
                "peak_rss_mb": round(peak.peak, 1),
                "rss_after_mb": round(rss_mb(pid) or 0.0, 1),
                "note": note,
            }
        )

    with PeakRss(pid) as peak:
        outcomes = [
            post(url, *inputs[i % len(inputs)], timeout) for i in range(args.normal)
        ]
    row("normal 640x480", args.normal, outcomes, peak)

    name, data = flat_png(args.big_megapixels)
    with PeakRss(pid) as peak:
        outcomes = [post(url, name, data, timeout, output="compare")]
    status = outcomes[0][0]
    row(
        f"{args.big_megapixels:g} MP flat PNG",
        1,
        outcomes,
        peak,
        f"{len(data) / 1e3:.0f} kB file, 'compare', HTTP {status}",
    )

    with PeakRss(pid) as peak:
        held = half_open(port, args.half_open)
        outcomes = [post(url, *inputs[0], timeout)]
        closed = wait_closed(held, 3 * args.read_timeout + 30)
    shown = "never" if closed is None else f"after {closed:.1f} s"
    row(
        f"{args.half_open} half-open",
        1,
        outcomes,
        peak,
        f"one photo meanwhile; the server closed them all {shown}",
    )

    barrier = threading.Barrier(args.concurrent)
    outcomes = []
    lock = threading.Lock()

    def client(i):
        barrier.wait()
        outcome = post(url, *inputs[i % len(inputs)], timeout, retry=True)
        with lock:
            outcomes.append(outcome)

    with PeakRss(pid) as peak:
        threads = [
            threading.Thread(target=client, args=(i,)) for i in range(args.concurrent)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    row(
        f"{args.concurrent} concurrent",
        args.concurrent,
        outcomes,
        peak,
        "503s waited out (Retry-After)",
    )
    return rows, closed


def table(rows, started_mb):
    header = ("scenario", "requests", "200", "503/4xx", "p50 ms", "max ms")
    header += ("peak RSS MB", "RSS after MB")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r["scenario"],
                str(r["requests"]),
                str(r["ok"]),
                str(r["refused"]),
                str(r["p50_ms"]),
                str(r["max_ms"]),
                f"{r['peak_rss_mb']:.0f}",
                f"{r['rss_after_mb']:.0f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [f"server RSS after start: {started_mb:.0f} MB"]
    for number, line in enumerate(lines):
        text.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
        if number == 0:
            text.append("  ".join("-" * w for w in widths))
    text += [f"{r['scenario']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--normal", type=int, default=8, help="normal uploads")
    parser.add_argument("--big-megapixels", type=float, default=40.0)
    parser.add_argument("--half-open", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=30)
    parser.add_argument("--queue-size", type=int, default=16, help="the app's flag")
    parser.add_argument(
        "--read-timeout", type=float, default=20.0, help="the app's flag (seconds)"
    )
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        try:
            process = start_server(
                args, port, log, ["--read-timeout", f"{args.read_timeout:g}"]
            )
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        try:
            started_mb = rss_mb(process.pid) or 0.0
            rows, closed = scenarios(args, url, port, process.pid)
        finally:
            process.terminate()
            with contextlib.suppress(Exception):
                process.wait(60)
    print(table(rows, started_mb))
    figures = {
        "model": args.model or "default",
        "read_timeout_s": args.read_timeout,
        "rss_after_start_mb": round(started_mb, 1),
        "half_open_closed_after_s": None if closed is None else round(closed, 1),
        "cpu_count": os.cpu_count(),
        "scenarios": rows,
    }
    print(json.dumps(figures))
    failed = sum(r["failed"] for r in rows) or closed is None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
