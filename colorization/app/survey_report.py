"""The naturalness survey's results from its database, as on /survey/results.

    colorization-survey-report survey.sqlite3
    colorization-survey-report survey.sqlite3 --csv > results.csv

(the command is `colorization.cli.survey_report`; this module is the library it calls.)

Per source: the answers, how many said "natural", their share with a 95 % Wilson
score interval, and the participants. Reads the database only (it may be in use by a
running app); needs neither TensorFlow nor the web stack.
"""

import contextlib
import os
import sqlite3

from colorization.app import results as results_lib
from colorization.app import survey

_HEADER = (
    "source",
    "votes",
    "natural",
    "share natural",
    "95 % interval",
    "participants",
)


def table(results, participants):
    """The results as aligned text lines."""
    rows = [_HEADER] + [
        (
            row.source,
            str(row.votes),
            str(row.natural),
            results_lib.percent(row.share),
            results_lib.interval_text(row.interval),
            str(row.participants),
        )
        for row in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        )
        for row in rows
    ]
    votes = sum(row.votes for row in results)
    lines.append(results_lib.totals_text(votes, participants))
    return lines


def read(path):
    """(results, participants) of a survey database, opened read-only.

    Raises:
        survey.SurveyError: no such file, or not a survey database.
    """
    if not os.path.isfile(path):
        raise survey.SurveyError(f"no such file: {path!r}")
    uri = "file:" + os.path.abspath(path).replace("?", "%3f") + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            return results_lib.read_results(db), results_lib.total_participants(db)
    except sqlite3.Error as error:
        raise survey.SurveyError(
            f"{path!r} is not a survey database: {error}"
        ) from None
