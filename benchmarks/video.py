"""Video colorization speed (frames per second) and peak memory, for a short clip and
one --long-factor times longer: memory must not grow with the video's length.

    python benchmarks/video.py                        # the shipped default model
    python benchmarks/video.py --width 1280 --height 720 --batch-size 4

Each clip is a slow pan across scikit-image's astronaut photo, written as MP4 (mp4v)
with OpenCV. The time of a clip covers the whole `colorize_video` call: decoding,
the network, smoothing, joining with full-resolution L, H.264 encoding and the final
rename, after a warm-up clip. Peak RSS is sampled every 50 ms while each clip runs, so
each clip has its own peak. The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def _rss_mb():
    """The resident memory of this process now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class PeakRss:
    """Samples the resident memory in a thread while the block runs; `.peak` in MB."""

    def __enter__(self):
        self.peak, self._stop = _rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def write_clip(path, frames, width, height):
    """A slow pan across the astronaut photo, `frames` long, as an mp4v MP4."""
    import cv2
    import numpy as np
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    photo = cv2.resize(photo, (2 * width, 2 * height), interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 25, (width, height))
    for t in range(frames):
        x = width * (t % 200) / 200  # sub-pixel steps, wrapping every 200 frames
        matrix = np.float32([[1.0, 0.0, -x], [0.0, 1.0, -height * 0.5]])
        writer.write(cv2.warpAffine(photo, matrix, (width, height)))
    writer.release()


def time_clip(colorizer, source, target, batch_size):
    """(seconds, peak RSS in MB, frames) of one `colorize_video` call."""
    with PeakRss() as rss:
        start = time.perf_counter()
        report = colorizer.colorize_video(
            source, target, batch_size=batch_size, progress=False
        )
        seconds = time.perf_counter() - start
    return seconds, rss.peak, report.frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=48, help="of the short clip")
    parser.add_argument("--long-factor", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args(argv)

    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(args.model)
    figures = {
        "model": args.model or "default",
        "network_size": colorizer.size,
        "video_size": f"{args.width}x{args.height}",
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rss_after_load_mb": round(_rss_mb(), 1),
    }
    lengths = {"short": args.frames, "long": args.frames * args.long_factor}
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.path.join(tmp, "warm.mp4")
        write_clip(warm, min(args.frames, 2 * args.batch_size), args.width, args.height)
        time_clip(colorizer, warm, os.path.join(tmp, "warm_out.mp4"), args.batch_size)
        for name, frames in lengths.items():
            source = os.path.join(tmp, f"{name}.mp4")
            write_clip(source, frames, args.width, args.height)
            seconds, peak, done = time_clip(
                colorizer, source, os.path.join(tmp, f"{name}_out.mp4"), args.batch_size
            )
            assert done == frames, (done, frames)
            figures[f"{name}_frames"] = frames
            figures[f"{name}_fps"] = round(frames / seconds, 2)
            figures[f"{name}_peak_rss_mb"] = round(peak, 1)
            print(
                f"{name:>5}: {frames} frames, {frames / seconds:.2f} frames/s, "
                f"peak RSS {peak:.0f} MB",
                flush=True,
            )
    figures["fps"] = figures["long_fps"]
    figures["rss_long_over_short"] = round(
        figures["long_peak_rss_mb"] / figures["short_peak_rss_mb"], 3
    )
    figures["process_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
