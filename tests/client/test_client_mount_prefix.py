"""A ``base_url`` that forgets the host app's mount prefix: the 404 is not octotp's, and the error
says so, naming the URL it tried (sync and async client, against a live host app under /octotp)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from octotp_client import AsyncOctotpClient, NotFoundError

pytestmark = pytest.mark.xdist_group("client")


def without_prefix(hosted: Any) -> tuple[Any, str]:
    project = hosted.project()
    assert project.base_url.endswith("/octotp")
    return project, project.base_url.removesuffix("/octotp")


def assert_points_at_the_prefix(error: NotFoundError, url: str) -> None:
    message = str(error)
    assert error.status == 404
    assert error.code is None  # the host's 404, not octotp's problem
    assert message.startswith("404 Not Found")
    assert f"POST {url}/api/tokens" in message
    assert "base_url may lack the mount prefix" in message


def test_sync_client_says_base_url_may_lack_the_prefix(hosted: Any, make_client: Any) -> None:
    project, root = without_prefix(hosted)
    with pytest.raises(NotFoundError) as caught:
        make_client(project, base_url=root).create_token(email="someone@example.com")
    assert_points_at_the_prefix(caught.value, root)


def test_async_client_says_base_url_may_lack_the_prefix(hosted: Any) -> None:
    project, root = without_prefix(hosted)

    async def scenario() -> NotFoundError:
        async with AsyncOctotpClient(project.api_key, root, project_id=project.id) as client:
            with pytest.raises(NotFoundError) as caught:
                await client.create_token(email="someone@example.com")
            return caught.value

    assert_points_at_the_prefix(asyncio.run(scenario()), root)


def test_octotps_own_404_has_no_such_hint(hosted: Any, make_client: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        make_client(hosted.project()).cancel_token(str(uuid.uuid4()))
    assert caught.value.code == "not_found"
    assert "base_url" not in str(caught.value)


def test_the_command_line_shows_the_hint(hosted: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from octotp_client.cli import main

    project, root = without_prefix(hosted)
    argv = ["--base-url", root, "--api-key", project.api_key, "--project-id", project.id]
    assert main([*argv, "create", "--email", "someone@example.com"]) == 2
    problem = json.loads(capsys.readouterr().err)
    assert problem["error"] == "NotFoundError"
    assert problem["status"] == 404
    assert "base_url may lack the mount prefix" in problem["detail"]
