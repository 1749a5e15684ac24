"""FastAPI's public names match the other adapters': ``get_octotp()`` works with no argument in a
request (as in Flask and Django) and still as a dependency; routes are found by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_fastapi import OctotpDep, create_router, get_octotp, install
from octotp_fastapi.router import route_named


@pytest.fixture
def two_octotps(database_url: str, make_settings: Callable[..., Settings]) -> Iterator[tuple[Octotp, Octotp]]:
    first, second = Octotp(make_settings(database_url=database_url)), Octotp(make_settings(database_url=database_url))
    yield first, second
    first.close()
    second.close()


def _host(octotp: Octotp) -> FastAPI:
    app = FastAPI()

    @app.get("/sync")
    def sync_view() -> dict[str, int]:  # runs in a worker thread: the context must follow it there
        return {"id": id(get_octotp())}

    @app.get("/async")
    async def async_view() -> dict[str, int]:
        return {"id": id(get_octotp())}

    @app.get("/dependency")
    def dependency_view(octotp: Octotp = Depends(get_octotp)) -> dict[str, int]:  # noqa: B008 - FastAPI's idiom
        return {"id": id(octotp)}

    @app.get("/annotated")
    def annotated_view(octotp: OctotpDep) -> dict[str, int]:
        return {"id": id(octotp)}

    install(app, octotp)
    return app


def test_get_octotp_without_arguments_is_the_requests_app(two_octotps: tuple[Octotp, Octotp]) -> None:
    first, second = two_octotps
    first_app = _host(first)
    _host(second)  # installed last: the no-argument fallback outside a request
    with TestClient(first_app) as client:
        for path in ("/sync", "/async", "/dependency", "/annotated"):
            assert client.get(path).json() == {"id": id(first)}, path
    assert get_octotp() is second


def test_routes_are_named_after_the_table(two_octotps: tuple[Octotp, Octotp]) -> None:
    router = create_router(two_octotps[0], prefix="octotp/")  # normalised like Flask's prefix
    assert route_named(router, "octotp_health").path == "/octotp/healthz"
    assert route_named(router, "octotp_get_token").path == "/octotp/api/tokens/{tokenId}"
    assert route_named(router, "octotp_get_token").methods == {"GET"}
    with pytest.raises(KeyError):
        route_named(router, "health")
