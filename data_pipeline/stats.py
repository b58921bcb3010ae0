"""Counts of what an input pipeline skipped, kept in tf.Variables updated by tf.data.

Create a `PipelineStats` outside any `tf.distribute` strategy scope (the dataset
functions of `make_dataset` and `distribute_datasets_from_function` are). The counts
cover the files read so far, read-ahead included: exact once an epoch has been read to
its end.
"""

import tensorflow as tf

# Example status codes carried through the pipeline.
OK, GRAYSCALE, BAD_FORMAT, TOO_LARGE = range(4)
STATUS_NAMES = ("ok", "grayscale", "not_an_image", "too_large")
# Why a file did not become an example (`unreadable`: failed to read or decode).
SKIP_REASONS = ("grayscale", "unreadable", "not_an_image", "too_large")


class PipelineStats:
    """Files seen, and why those that did not become examples were skipped."""

    def __init__(self):
        with tf.device("/cpu:0"):
            self.seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="seen")
            self.by_status = tf.Variable(
                tf.zeros([len(STATUS_NAMES)], tf.int64),
                trainable=False,
                name="by_status",
            )

    def count_seen(self):
        """Op that counts one file entering the pipeline."""
        return self.seen.assign_add(1)

    def count_status(self, status):
        """Op that counts one example leaving the decoder with `status`."""
        # A dense add holds the variable's lock exclusively, so the calls of a
        # parallel map add one at a time. (A scatter_add takes it shared: two files
        # counted at once can both read n and write n + 1, and the one lost would
        # show as an unreadable file.)
        return self.by_status.assign_add(
            tf.one_hot(tf.cast(status, tf.int32), len(STATUS_NAMES), dtype=tf.int64)
        )

    def as_dict(self):
        """{'seen', 'ok', 'grayscale', 'not_an_image', 'too_large', 'unreadable'}.

        `unreadable` are files that passed the header checks but failed to read or decode
        (truncated, corrupt, unreadable on disk).
        """
        counts = dict(zip(STATUS_NAMES, (int(c) for c in self.by_status.numpy())))
        counts["seen"] = int(self.seen.numpy())
        counts["unreadable"] = counts["seen"] - int(sum(self.by_status.numpy()))
        return counts

    def skips(self):
        """{reason: files skipped for it} for each of `SKIP_REASONS`."""
        counts = self.as_dict()
        return {reason: counts[reason] for reason in SKIP_REASONS}

    def skipped(self):
        """Number of files skipped for any reason."""
        counts = self.as_dict()
        return counts["seen"] - counts["ok"]

    def report(self):
        """One line for a log: how many examples were used and why others were skipped."""
        c = self.as_dict()
        return (
            f"{c['ok']} of {c['seen']} images used; skipped {c['grayscale']} black-and-white, "
            f"{c['unreadable']} unreadable or corrupt, {c['not_an_image']} not images, "
            f"{c['too_large']} too large"
        )
