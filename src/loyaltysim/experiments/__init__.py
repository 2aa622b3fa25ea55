"""Experiments: experiment files, factors (declared once) and designs (grid, SALib, yours), derived seeds,
executors (any concurrent.futures Executor), the results store."""
