"""A minimal Django project with octotp-django under ``/octotp/`` and the reference views."""
