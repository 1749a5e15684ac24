"""Test kit for octotp and for third-party adapters and stores.

- ``databases``: temporary databases on SQLite, PostgreSQL and MariaDB from ``OCTOTP_TEST_*_URL``.
- ``store_suite.StoreSuite``: the ``Store`` conformance suite (subclass it, provide a ``store`` fixture).
"""
