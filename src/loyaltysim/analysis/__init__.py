"""Analysis of finished runs: hypothesis tests (and the contract check of your own), summaries by condition,
sensitivity (SALib) of outputs, scenario discovery (PRIM) and calibration."""
