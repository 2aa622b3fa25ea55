"""Analysis of finished runs: hypothesis tests, summaries by condition, sensitivity (SALib),
scenario discovery (PRIM) and calibration."""
