"""The test-data generator behind `python scripts/generate_data.py` (see that script)."""
