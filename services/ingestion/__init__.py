"""Live poll ingestion (SPEC 10): `POST /polls` and the broker consumer share one parser and one writer."""
