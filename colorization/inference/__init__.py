"""Inference at full resolution: the `Colorizer` (`colorizer`), the graph it runs
(`graph`: the network at its size, the full-resolution join) with its options as
graph inputs (`options`), files, folders and
globs (`planning` of the paths, `batch_inference`), photo files (`image_io`), and videos
(`video`, `video_io`, `temporal`)."""
