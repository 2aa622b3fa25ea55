"""Workflows: a scenario run, a sweep, a sensitivity study or a calibration from start to written results
and report. The command line and the public API call these."""
