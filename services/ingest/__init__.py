"""Reading the three input CSV files and loading them into the database (SPEC 1)."""
