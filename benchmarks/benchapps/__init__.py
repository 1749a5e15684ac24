"""Host apps the benchmark runs: each serves octotp beside two reference endpoints (``benchapps.reference``)."""
