"""Local services and the demo: Elasticsearch, Airflow, PostgreSQL, the fixture site.

Developer tooling, not pipeline stages: the CLI and tests import it, no stage does
(``tests/unit/test_import_boundary.py`` enforces it), so a worker never carries code
that can start services or run ``apt-get``.
"""
