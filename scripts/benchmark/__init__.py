"""``scripts/bench``: chatd against the floor (a storage-less Starlette app) in the same run, scenario by
scenario, with one load generator, server and load generator on separate cores (docs/performance.md)."""
