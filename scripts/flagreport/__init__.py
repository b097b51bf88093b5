"""flagreport — the report of a flagbench driver run (scripts/report.py is its command line)."""
