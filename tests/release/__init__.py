"""Releases (``tox -e release``): every package's sdist and wheel built, checked and installed alone
into a clean venv for a smoke test; versions and core pins in step. docs/operations/releases.md."""
