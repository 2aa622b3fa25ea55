"""Workflows: a scenario run, a sweep, a sensitivity study, a calibration or a scenario discovery from start to
written results and report. The command line and the public API call these."""
