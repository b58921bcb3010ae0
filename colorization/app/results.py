"""The survey's results: per source, the share of "natural" answers with a 95 % Wilson
score interval, from the votes table alone (standard library only).

    with contextlib.closing(SurveyStore(path).connect()) as db:
        for row in read_results(db):
            print(row.source, percent(row.share), interval_text(row.interval))
"""

import dataclasses
import math
import time

from colorization.app.survey import source_order

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


@dataclasses.dataclass(frozen=True)
class SourceResult:
    """One row of the results table."""

    source: str
    votes: int
    natural: int
    participants: int

    @property
    def share(self):
        return self.natural / self.votes if self.votes else None

    @property
    def interval(self):
        return wilson_interval(self.natural, self.votes)


def wilson_interval(successes, n, z=Z95):
    """The Wilson score interval of a proportion (95 % by default); None for n = 0."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percent(value):
    """0.872 -> '87.2 %'; None -> '-'."""
    return "-" if value is None else f"{100 * value:.1f} %"


def interval_text(interval):
    """(0.596, 0.982) -> '59.6 - 98.2 %'; None -> '-'."""
    if interval is None:
        return "-"
    return f"{100 * interval[0]:.1f} - {100 * interval[1]:.1f} %"


def read_results(db, sources=()):
    """Per source: votes, "natural" answers and participants, `real` first.

    Args:
        db: An open connection to a survey database.
        sources: Sources to list even without votes (the current photo folders).
    """
    rows = {
        source: SourceResult(source, votes, natural, participants)
        for source, votes, natural, participants in db.execute(
            "SELECT source, COUNT(*), SUM(natural), COUNT(DISTINCT participant) "
            "FROM votes GROUP BY source"
        )
    }
    for source in sources:
        rows.setdefault(source, SourceResult(source, 0, 0, 0))
    return [rows[s] for s in sorted(rows, key=source_order)]


def total_participants(db):
    """Participants who gave at least one answer."""
    return db.execute("SELECT COUNT(DISTINCT participant) FROM votes").fetchone()[0]


def totals_text(votes, participants):
    """'23 answers from 6 participants.'"""
    return (
        f"{votes} answer{'' if votes == 1 else 's'} from {participants} "
        f"participant{'' if participants == 1 else 's'}."
    )


def results_csv(results):
    """The results table as CSV text (shares and bounds as fractions)."""
    lines = ["source,votes,natural,share,ci95_low,ci95_high,participants"]
    for row in results:
        low, high = row.interval or (None, None)
        cells = [row.source, row.votes, row.natural, row.share, low, high]
        cells.append(row.participants)
        lines.append(",".join(_csv_cell(cell) for cell in cells))
    return "\n".join(lines) + "\n"


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def votes_csv(db, pseudonym):
    """Every vote as CSV text, in the order given.

    Args:
        db: An open connection to a survey database.
        pseudonym: Participant id -> what the export shows instead (an id is the
            key to the participant's cookie, so it never leaves the server).
    """
    lines = ["id,time_utc,participant,source,path,natural,response_ms,server_ms"]
    for row in db.execute(
        "SELECT id, created_at, participant, source, path, natural, response_ms, "
        "server_ms FROM votes ORDER BY id"
    ):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row[1]))
        cells = [row[0], stamp, pseudonym(row[2]), *row[3:]]
        lines.append(",".join(_csv_cell(cell) for cell in cells))
    return "\n".join(lines) + "\n"
