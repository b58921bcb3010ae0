"""A local web app: colorize photos in the browser, and the Zhu report's naturalness
survey (`python -m colorization.app`, or the `colorization-app` command).

`colorize.py` runs uploads through one shared model behind a bounded queue,
`server.py` is the Starlette app and its HTTP API, `survey.py` keeps the survey's
photos and SQLite votes (standard library only), `survey_routes.py` serves them, and
`survey_set.py` builds a survey folder from colour photos. The page's HTML, JavaScript
and CSS are in `static/`, shipped in the package: nothing is fetched from the Internet.
Nothing is imported here, so `colorization.app.survey_report` reads the votes without the
web stack or TensorFlow.
"""
