"""Test kit for octotp and for third-party adapters and stores.

- ``databases``: temporary databases on SQLite, PostgreSQL and MariaDB from ``OCTOTP_TEST_*_URL``.
- ``store_suite.StoreSuite``: the ``Store`` conformance suite (subclass it, provide a ``store`` fixture).
- ``contract.ContractSuite``: the HTTP contract suite (subclass it, provide a ``mounted`` fixture;
  an app declares what it lacks in ``MountedOctotp.lacks``, see ``contract.CAPABILITIES``).
- ``dashboard.DashboardSuite``: the dashboard conformance suite.
"""
