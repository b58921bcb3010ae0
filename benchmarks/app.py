"""Load test of the web app on 127.0.0.1: concurrent uploads of 640 x 480 photos.

    python benchmarks/app.py                                  # shipped model
    python benchmarks/app.py --concurrency 20 --requests 200 --queue-size 16
    python benchmarks/app.py --retry          # clients wait Retry-After and try again

Starts `python -m colorization.app` on a free port of 127.0.0.1 (the only address it
sends to), colorizes each of four black-and-white 640 x 480 JPEGs alone for reference,
then sends --requests uploads from --concurrency clients at once. Every request must
end in the reference image of its photo (byte for byte) or in a 503 with Retry-After;
an error, a lost connection or a different image is counted and makes the exit status
1, as does a server RSS of 2 GB or more (sampled every 20 ms). The last line is one
JSON object with every figure.
"""

import argparse
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_LIMIT_MB = 2048


def _pixels(data):
    """The decoded pixels of an answer, as bytes: what "corrupted" is judged by (each
    answer's record of how it was made has its own time)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


def photos(width, height):
    """Four black-and-white JPEGs of scikit-image photos, as bytes."""
    from PIL import Image
    from skimage import data

    result = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        image = Image.fromarray(getattr(data, name)()[..., :3]).convert("L")
        buffer = io.BytesIO()
        image.resize((width, height), Image.BICUBIC).save(buffer, "JPEG", quality=90)
        result.append((f"{name}.jpg", buffer.getvalue()))
    return result


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid, field="VmRSS"):
    """A figure of /proc/PID/status in MB (Linux), or None."""
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    return None


def start_server(args, port, log, extra=()):
    """`python -m colorization.app` on `port` of 127.0.0.1, once it answers."""
    command = [sys.executable, "-m", "colorization.app", "--port", str(port)]
    command += ["--queue-size", str(args.queue_size), "--log-level", "warning"]
    command += list(extra)
    if args.model:
        command += ["--model", args.model]
    process = subprocess.Popen(command, cwd=REPO, stderr=log)
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app did not start within 600 s")


def percentile(values, q):
    import numpy as np

    return round(float(np.percentile(values, q)), 1) if values else None


def load(url, jobs, concurrency, retry, references):
    """Sends every job from `concurrency` clients at once; returns the outcomes."""
    import httpx

    outcomes = []
    lock = threading.Lock()
    pending = iter(jobs)
    barrier = threading.Barrier(concurrency)

    def client():
        with httpx.Client(base_url=url, timeout=300) as session:
            barrier.wait()
            while True:
                with lock:
                    job = next(pending, None)
                if job is None:
                    return
                name, data = job
                start = time.perf_counter()
                while True:
                    try:
                        answer = session.post(
                            "/api/colorize", files={"file": (name, data, "image/jpeg")}
                        )
                    except httpx.HTTPError as error:
                        kind, detail = "lost", type(error).__name__
                        break
                    if answer.status_code == 200:
                        same = _pixels(answer.content) == references[name]
                        kind, detail = ("ok" if same else "corrupted"), ""
                        break
                    if answer.status_code == 503 and answer.headers.get("retry-after"):
                        if retry:
                            time.sleep(int(answer.headers["retry-after"]))
                            continue
                        kind, detail = "busy", ""
                        break
                    kind, detail = "error", f"{answer.status_code} {answer.text[:200]}"
                    break
                with lock:
                    outcomes.append((kind, time.perf_counter() - start, detail))

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--queue-size", type=int, default=16, help="the app's flag")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--retry", action="store_true", help="honour Retry-After")
    args = parser.parse_args(argv)
    import httpx

    inputs = photos(args.width, args.height)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    peak = {"rss": 0.0}
    with tempfile.TemporaryFile() as log:
        try:
            process = start_server(args, port, log)
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        stop = threading.Event()

        def sample():
            while not stop.wait(0.02):
                peak["rss"] = max(peak["rss"], rss_mb(process.pid) or 0.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            started_mb = rss_mb(process.pid)
            references = {}
            for name, data in inputs:  # alone, one at a time: the expected answers
                answer = httpx.post(
                    f"{url}/api/colorize", files={"file": (name, data)}, timeout=300
                )
                answer.raise_for_status()
                references[name] = _pixels(answer.content)
            jobs = [inputs[i % len(inputs)] for i in range(args.requests)]
            outcomes, wall = load(url, jobs, args.concurrency, args.retry, references)
            high_water_mb = rss_mb(process.pid, "VmHWM")
        finally:
            stop.set()
            process.terminate()
            process.wait(60)
        peak_mb = max(peak["rss"], high_water_mb or 0.0)
    counts = {k: 0 for k in ("ok", "busy", "error", "lost", "corrupted")}
    for kind, _, detail in outcomes:
        counts[kind] += 1
        if detail:
            print(f"{kind}: {detail}", file=sys.stderr)
    ok_ms = [1000 * s for kind, s, _ in outcomes if kind == "ok"]
    busy_ms = [1000 * s for kind, s, _ in outcomes if kind == "busy"]
    figures = {
        "model": args.model or "default",
        "photo": f"{args.width}x{args.height}",
        "requests": args.requests,
        "concurrency": args.concurrency,
        "queue_size": args.queue_size,
        "retry": args.retry,
        **counts,
        "answered": len(outcomes),
        "wall_s": round(wall, 2),
        "throughput_images_per_s": round(counts["ok"] / wall, 2),
        "latency_p50_ms": percentile(ok_ms, 50),
        "latency_p95_ms": percentile(ok_ms, 95),
        "busy_latency_p50_ms": percentile(busy_ms, 50),
        "rss_after_start_mb": round(started_mb or 0.0, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "cpu_count": os.cpu_count(),
    }
    print(
        f"{counts['ok']} colorized, {counts['busy']} busy (503), "
        f"{counts['error'] + counts['lost'] + counts['corrupted']} failed of "
        f"{args.requests}; {figures['throughput_images_per_s']} images/s; "
        f"p50 {figures['latency_p50_ms']} ms, p95 {figures['latency_p95_ms']} ms; "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps(figures))
    failed = counts["error"] + counts["lost"] + counts["corrupted"]
    lost = len(outcomes) != args.requests
    return 1 if failed or lost or peak_mb >= RSS_LIMIT_MB else 0


if __name__ == "__main__":
    sys.exit(main())
