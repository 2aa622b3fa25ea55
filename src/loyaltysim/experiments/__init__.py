"""Experiments: experiment files and their designs, derived seeds, executors, the results store."""
