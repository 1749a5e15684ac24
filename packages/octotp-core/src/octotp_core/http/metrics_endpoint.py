"""``metrics_response``: ``/metrics`` on a neutral request, written once for ``octotp serve`` and every
adapter's ``metrics_view``.

Off (``metrics_enabled`` unset): 404, as for any path octotp has no route for. On: only a scrape that
sends ``Authorization: Bearer <metrics_token>`` gets the exposition; anything else is a 401 problem
(the token compared in constant time). Only ``GET`` and ``HEAD``.
"""

from __future__ import annotations

import hmac

from ..core import Octotp
from ..metrics import CONTENT_TYPE, render_metrics
from .messages import Request, Response
from .problems import problem, request_id_from

METRICS_PATH = "/metrics"
"""Where ``octotp serve`` answers the scrape (a host mounts ``metrics_view`` wherever it likes)."""


def metrics_response(octotp: Octotp, request: Request) -> Response:
    """The answer to a scrape of octotp's metrics: the text exposition, a 401 problem without the
    right bearer token, 404 when metrics are off, 405 for a method other than GET and HEAD."""
    request_id = request_id_from(request.header("x-request-id"))
    response = _answer(octotp, request, request_id)
    response.set_header("X-Request-Id", request_id)
    return response


def _answer(octotp: Octotp, request: Request, request_id: str) -> Response:
    settings = octotp.settings
    if not octotp.metrics.enabled or settings.metrics_token is None:
        return problem(404, "not_found", "metrics are off on this server (metrics_enabled)", request_id)
    if request.method.upper() not in ("GET", "HEAD"):
        return problem(
            405, "method_not_allowed", "use GET to scrape the metrics", request_id, headers=[("Allow", "GET, HEAD")]
        )
    scheme, _, given = (request.header("authorization") or "").partition(" ")
    expected = settings.metrics_token.get_secret_value().strip().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        return problem(
            401,
            "invalid_metrics_token",
            "send the metrics token as Authorization: Bearer <metrics_token>",
            request_id,
            headers=[("WWW-Authenticate", 'Bearer realm="octotp metrics"')],
        )
    body = render_metrics(octotp.metrics, octotp.store)
    headers = [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")]
    return Response(200, headers, b"" if request.method.upper() == "HEAD" else body)
