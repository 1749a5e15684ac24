"""``metrics_view``: octotp's Prometheus metrics as a FastAPI endpoint, for a host app to mount::

    app.add_api_route("/metrics", metrics_view, methods=["GET", "HEAD"], include_in_schema=False)

It answers what core's ``metrics_response`` decides (the exposition for ``Authorization: Bearer
<metrics_token>``, a 401 problem otherwise, 404 while ``metrics_enabled`` is off), for the ``Octotp``
``install`` bound to the app. ``octotp serve`` mounts it at ``/metrics``.
"""

from __future__ import annotations

from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse
from starlette.concurrency import run_in_threadpool

from octotp_core.http import METRICS_PATH, metrics_response

from .router import get_octotp, to_native_response, to_neutral_request


async def metrics_view(request: FastAPIRequest) -> FastAPIResponse:
    """Answer a Prometheus scrape with the metrics of the app's ``Octotp`` (in a worker thread: the
    outbox's depth is read from the database)."""
    octotp = get_octotp(request)
    neutral = await to_neutral_request(request, METRICS_PATH)
    return to_native_response(await run_in_threadpool(metrics_response, octotp, neutral))
