"""`make bench`: performance ratios that matter (not part of CI; see bench/README.md)."""
