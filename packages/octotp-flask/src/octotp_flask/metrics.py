"""``metrics_view``: octotp's Prometheus metrics as a Flask view, for the host app to route::

    app.add_url_rule("/metrics", view_func=metrics_view)

It answers what core's ``metrics_response`` decides (the exposition for ``Authorization: Bearer
<OCTOTP_METRICS_TOKEN>``, a 401 problem otherwise, 404 while ``OCTOTP_METRICS_ENABLED`` is off), for
the app's ``Octotp``.
"""

from __future__ import annotations

from flask import Response, request

from octotp_core.http import METRICS_PATH, metrics_response

from .blueprint import to_native_response, to_neutral_request
from .extension import get_octotp


def metrics_view() -> Response:
    """Answer a Prometheus scrape with the metrics of the current app's ``Octotp``."""
    return to_native_response(metrics_response(get_octotp(), to_neutral_request(request, METRICS_PATH)))


metrics_view.methods = ["GET", "HEAD"]  # type: ignore[attr-defined]
