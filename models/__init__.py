"""Tables, engine and the queries the services run."""
