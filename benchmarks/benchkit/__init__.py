"""The pieces of `python benchmarks/bench.py`: measuring, data, the service, rendering."""
