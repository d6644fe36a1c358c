"""Git's smart HTTP protocol, served by `git http-backend` behind GitHub's rules: HTTP Basic
with an installation token as the password (any user name, `x-access-token` by convention),
read-only (installation tokens here carry contents: read), 401 with a Basic challenge when the
credentials are missing or dead, 404 when the token cannot see the repository."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from app.localgithub import auth
from app.localgithub.api_common import AUTH_KIND, PRINCIPAL, hub_of
from app.localgithub.errors import ApiError
from app.localgithub.gitcmd import GIT, environment
from app.localgithub.records import RepoRecord

routes = web.RouteTableDef()

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="GitHub"'}
_GZIP_MAGIC = b"\x1f\x8b"


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, headers=headers)


def _authorise(request: web.Request, repo_name: str) -> RepoRecord | web.Response:
    hub = hub_of(request)
    credentials = auth.basic_credentials(request.headers.get("Authorization"))
    if credentials is None:
        request[AUTH_KIND] = "none"
        return _text(401, "Authentication required\n", _CHALLENGE)
    request[AUTH_KIND] = "basic"
    _, password = credentials
    try:
        principal = auth.token_principal(hub.world, password, time.time())
    except ApiError:
        return _text(401, "Invalid username or token.\n", _CHALLENGE)
    request[PRINCIPAL] = principal
    repo = hub.world.find_repo(request.match_info["owner"], repo_name)
    if repo is None or not auth.can_reach(principal, repo.id):
        return _text(404, "Repository not found.\n")
    if not auth.has_permission(principal, "contents", "read"):
        return _text(403, "Permission denied.\n")
    return repo


def _repo_name(request: web.Request) -> str:
    name = request.match_info["repo"]
    return name[: -len(".git")] if name.endswith(".git") else name


async def _http_backend(request: web.Request, repo: RepoRecord, service_path: str) -> web.Response:
    body = await request.read()
    env = {
        "GIT_PROJECT_ROOT": str(repo.bare_path.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.bare_path.name}/{service_path}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_USER": "x-access-token",
        "REMOTE_ADDR": request.remote or "",
    }
    # aiohttp already inflates gzip request bodies (git gzips large negotiations); only pass the
    # encoding on if the bytes are still compressed.
    if request.headers.get("Content-Encoding", "").lower() == "gzip" and body.startswith(
        _GZIP_MAGIC
    ):
        env["HTTP_CONTENT_ENCODING"] = "gzip"
    env["CONTENT_LENGTH"] = str(len(body))
    if "Git-Protocol" in request.headers:
        env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
    process = await asyncio.create_subprocess_exec(
        GIT,
        "http-backend",
        env=environment(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate(body)
    return _cgi_response(stdout)


def _cgi_response(output: bytes) -> web.Response:
    """An HTTP response from CGI output: headers (with `Status:`), a blank line, the body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, payload = output.partition(separator)
        if found:
            break
    else:
        return web.Response(status=502, text="git http-backend gave no headers\n")
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        if name.strip().lower() == "status":
            status = int(value.strip().split(" ", 1)[0])
        else:
            headers[name.strip()] = value.strip()
    return web.Response(status=status, body=payload, headers=headers)


@routes.get("/{owner}/{repo}/info/refs", name="git-info-refs")
async def info_refs(request: web.Request) -> web.Response:
    service = request.query.get("service")
    if service == "git-receive-pack":
        request[AUTH_KIND] = "basic" if request.headers.get("Authorization") else "none"
        # Installation tokens handed to the CI service are read-only.
        return _text(403, "Write access to repository not granted.\n")
    checked = _authorise(request, _repo_name(request))
    if isinstance(checked, web.Response):
        return checked
    if service != "git-upload-pack":
        # The dumb protocol is not served, as on GitHub.
        return _text(403, "Dumb HTTP protocol is not supported.\n")
    return await _http_backend(request, checked, "info/refs")


@routes.post("/{owner}/{repo}/git-upload-pack", name="git-upload-pack")
async def upload_pack(request: web.Request) -> web.Response:
    checked = _authorise(request, _repo_name(request))
    if isinstance(checked, web.Response):
        return checked
    return await _http_backend(request, checked, "git-upload-pack")


@routes.post("/{owner}/{repo}/git-receive-pack", name="git-receive-pack")
async def receive_pack(request: web.Request) -> web.Response:
    request[AUTH_KIND] = "basic" if request.headers.get("Authorization") else "none"
    return _text(403, "Write access to repository not granted.\n")
