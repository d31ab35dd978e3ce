"""Running report jobs in the background and the periodic reload (SPEC 3, 4)."""
