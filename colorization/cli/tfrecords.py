"""Convert a folder of images into sharded TFRecords (for large collections that live
in a bucket and feed many input pipelines at once).

    colorization-tfrecords photos/train shards/train --shards 16

(`python -m colorization.cli.tfrecords ...` is the same command.) Each record holds the
original encoded bytes and the relative path; files OpenCV cannot decode are skipped
and listed. Read the shards with `DataConfig(source="tfrecord",
data_dir="shards/train")`; the format is told in `data_pipeline.tfrecords`.
"""

import sys

from colorization import cli

PROG = "colorization-tfrecords"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="folder of images (searched recursively)")
    p.add_argument("output", help="folder for the .tfrecord shards")
    p.add_argument("--shards", type=int, default=8, help="number of shards (default 8)")
    p.add_argument("--prefix", default="images", help="shard file name prefix")
    cli.add_verbose_flag(p)
    return p


def main(argv=None):
    """Writes the shards; returns the exit status (2: bad flags or folders)."""
    prog = cli.program(PROG, argv)
    # DataSourceError is a ValueError: a folder that is not one of images.
    return cli.run_tool(
        prog,
        lambda: parser(prog).parse_args(argv),
        lambda args: _write(prog, args),
        errors=(ValueError, OSError),
    )


def _write(prog, args):
    from data_pipeline import tfrecords

    result = tfrecords.write_shards(args.source, args.output, args.shards, args.prefix)
    for path in result["skipped"]:
        print(f"{prog}: skipped (cannot decode): {path}", file=sys.stderr)
    print(
        f"wrote {result['written']} images to {len(result['shards'])} shards in "
        f"{args.output}; skipped {len(result['skipped'])} unreadable files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
