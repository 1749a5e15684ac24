"""The console: what a hosted octotp needs beyond one project's dashboard (issue 14)."""
