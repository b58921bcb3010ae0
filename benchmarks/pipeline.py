"""Input pipeline throughput: tf.data (graph ops) against the multiprocessing generator.

    python benchmarks/pipeline.py ../shared/datasets/photos --limit 3000

Both read the same files with the same cores, make the same (L, ab, mask) batches of
256 x 256 and are timed after a warm-up batch. Prints images/s of each and their ratio;
the last line is one JSON object with every figure.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rate(batches, warmup=1):
    """Images per second over the batches after the first `warmup` ones."""
    iterator = iter(batches)
    for _ in range(warmup):
        next(iterator)
    start, count = time.perf_counter(), 0
    for batch in iterator:
        count += int(batch[0].shape[0])
    return count / (time.perf_counter() - start), count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="folder of images (searched recursively)")
    parser.add_argument(
        "--limit", type=int, default=3000, help="files to read (default 3000)"
    )
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="generator workers"
    )
    args = parser.parse_args(argv)

    import tensorflow as tf

    from data_pipeline import sources
    from data_pipeline.dataset import DataConfig, make_dataset
    from data_pipeline.generator import ColorizationGenerator

    paths = sources.list_image_files(args.directory)
    paths = paths[:: max(1, len(paths) // args.limit)][
        : args.limit
    ]  # spread over sources
    listing = os.path.join(os.environ.get("TMPDIR", "/tmp"), "pipeline_bench_files")
    os.makedirs(listing, exist_ok=True)
    for old in os.listdir(listing):
        os.remove(os.path.join(listing, old))
    for i, path in enumerate(paths):  # the same files for both paths, via symlinks
        os.symlink(
            os.path.abspath(path),
            os.path.join(listing, f"{i:06d}{os.path.splitext(path)[1]}"),
        )

    figures = {
        "files": len(paths),
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
    }
    for name, jit in (("tfdata", True), ("tfdata_no_xla", False)):
        config = DataConfig(
            source="folder", data_dir=listing, image_size=args.image_size, jit_lab=jit
        )
        dataset = make_dataset(config, args.batch_size, training=True)
        figures[f"{name}_images_per_s"], figures[f"{name}_images"] = _rate(dataset)
        print(
            f"{name:>16}: {figures[f'{name}_images_per_s']:7.1f} images/s", flush=True
        )

    with ColorizationGenerator(
        paths, args.batch_size, image_size=args.image_size, workers=args.workers
    ) as generator:
        figures["generator_images_per_s"], figures["generator_images"] = _rate(
            generator
        )
    figures["generator_workers"] = args.workers
    print(f"{'generator':>16}: {figures['generator_images_per_s']:7.1f} images/s")
    figures["ratio_tfdata_to_generator"] = (
        figures["tfdata_images_per_s"] / figures["generator_images_per_s"]
    )
    figures["ratio_xla_to_no_xla"] = (
        figures["tfdata_images_per_s"] / figures["tfdata_no_xla_images_per_s"]
    )
    print(f"tf.data / generator: {figures['ratio_tfdata_to_generator']:.2f}x")
    figures["tensorflow"] = tf.__version__
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
