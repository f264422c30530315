"""What the tests and the benchmarks share: a stand-in for the providers' HTTP APIs (standin.py),
generated PDFs and prose (pdf.py, prose.py), synthetic runs built from the engine's events
(runs.py), a throwaway PostgreSQL server (postgres.py) and a census of a run tree's sandboxes
(sandbox_census.py).

A package of its own, beside the product: bench/ must not import from tests/ (a test module is not
a library), and none of this belongs in what users run (it is not in the wheel). Plain Python,
no pytest: the fixtures in tests/fixtures/ wrap it.
"""
