"""The aiohttp application (app/localgithub/server.py): unknown paths answered as GitHub
answers them, in JSON."""

from __future__ import annotations

import aiohttp

from app.localgithub import LocalGitHub


async def test_unknown_paths_are_json_404s(
    session: aiohttp.ClientSession, gh: LocalGitHub, token: str
) -> None:
    async with session.get(
        f"{gh.url}/repos/octo-org/hello/nothing-here", headers={"Authorization": f"token {token}"}
    ) as response:
        assert response.status == 404
        assert (await response.json())["message"] == "Not Found"
    async with session.delete(f"{gh.url}/app") as response:
        assert response.status == 404
