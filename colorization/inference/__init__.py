"""Inference at full resolution: the `Colorizer` (`colorizer`), files, folders and
globs (`planning` of the paths, `batch_inference`), photo files (`image_io`), and videos
(`video`, `video_io`, `temporal`)."""
