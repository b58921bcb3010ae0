"""The naturalness survey's results from its database, as on /survey/results.

    colorization-survey-report survey.sqlite3
    colorization-survey-report survey.sqlite3 --csv > results.csv

(`python -m colorization.cli.survey_report ...` is the same command.) Per source: the
answers, how many said "natural", their share with a 95 % Wilson score interval, and
the participants. Reads the database only (it may be in use by a running app); needs
neither TensorFlow nor the web stack.
"""

import sys

from colorization import cli

PROG = "colorization-survey-report"  # the name of `main(argv)` called from Python


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("db", help="the survey's SQLite file (--survey-db of the app)")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return p


def main(argv=None):
    """Prints the results; returns the exit status (2: bad flags or database)."""
    from colorization.app import results, survey, survey_report

    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
        table, participants = survey_report.read(args.db)
    except (cli.FlagError, survey.SurveyError) as error:
        return cli.fail(prog, error)
    if args.csv:
        sys.stdout.write(results.results_csv(table))
    else:
        print("\n".join(survey_report.table(table, participants)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
