"""``python -m octotp_core.cli`` runs the ``octotp`` command."""

from . import main

main()
