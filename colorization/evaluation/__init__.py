"""Scores of a colorizer on real colour photos (`scoring`) and the metrics behind
them (`metrics`)."""
