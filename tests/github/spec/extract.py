"""Cut GitHub's published API description down to what Conveyor uses, for the spec tests.

Run by hand when GitHub's description changes; CI reads only the JSON this writes (no network,
no npm):

    npm pack @octokit/openapi @octokit/webhooks-examples     # two .tgz files
    python tests/github/spec/extract.py octokit-openapi-*.tgz octokit-webhooks-examples-*.tgz

It keeps, from `@octokit/openapi` (GitHub's rest-api-description, api.github.com), the request
body schema of each operation Conveyor calls with a body ($refs resolved, OpenAPI 3.0's
`nullable` written as JSON Schema's `"null"` type so that a plain JSON Schema validator reads
them), and the webhook examples it publishes in `x-webhooks`; from
`@octokit/webhooks-examples`, every example of the events Conveyor is subscribed to.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "github_spec.json"

# The events Conveyor subscribes to or is sent without subscribing (installation events).
EVENTS = (
    "push",
    "pull_request",
    "check_suite",
    "check_run",
    "issue_comment",
    "installation",
    "installation_repositories",
    "github_app_authorization",
)

# (method, path) of every call Conveyor makes with a JSON body.
OPERATIONS = (
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("put", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("patch", "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"),
    ("post", "/repos/{owner}/{repo}/rulesets"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
)


def _member(archive: Path, suffix: str) -> tuple[dict[str, Any], Any]:
    with tarfile.open(archive) as tar:
        package = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        return package, json.load(tar.extractfile(f"package/{suffix}"))  # type: ignore[arg-type]


def _resolve(
    node: Any, root: dict[str, Any], seen: tuple[str, ...] = (), names: bool = False
) -> Any:
    """`node` with every $ref replaced by what it points to, and `nullable` made JSON Schema.
    `names`: node maps property names to schemas (where "description" is a property)."""
    if isinstance(node, list):
        return [_resolve(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref}")
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(target, root, (*seen, ref), names)
    if names:
        return {key: _resolve(value, root, seen) for key, value in node.items()}
    out = {
        key: _resolve(value, root, seen, key == "properties")
        for key, value in node.items()
        # Documentation, which the validator does not read (and most of the size); nullable
        # is rewritten below.
        if key not in ("description", "example", "examples", "nullable", "title")
    }
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _example(example: dict[str, Any], spec: dict[str, Any]) -> Any:
    """An example's value, as written (a $ref to the components' examples is followed)."""
    while "$ref" in example:
        target: Any = spec
        for part in example["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        example = target
    return example["value"]


def extract(openapi_tgz: Path, examples_tgz: Path) -> dict[str, Any]:
    openapi_package, spec = _member(openapi_tgz, "generated/api.github.com.json")
    examples_package, examples = _member(examples_tgz, "api.github.com/index.json")
    operations = {}
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method]
        body = operation["requestBody"]
        operations[f"{method.upper()} {path}"] = {
            "operationId": operation["operationId"],
            "required": bool(body.get("required", False)),
            "schema": _resolve(body["content"]["application/json"]["schema"], spec),
        }
    webhooks: dict[str, list[dict[str, Any]]] = {event: [] for event in EVENTS}
    for entry in examples:
        if entry["name"] in webhooks:
            webhooks[entry["name"]].extend(entry["examples"])
    for hook in spec.get("x-webhooks", {}).values():
        post = hook["post"]
        event = post.get("x-github", {}).get("subcategory")
        content = post["requestBody"]["content"]["application/json"]
        if event in webhooks:
            for example in (content.get("examples") or {}).values():
                webhooks[event].append(_example(example, spec))
    return {
        "source": {
            "openapi": f"{openapi_package['name']}@{openapi_package['version']}",
            "openapi_file": "generated/api.github.com.json",
            "webhooks_examples": f"{examples_package['name']}@{examples_package['version']}",
            "webhooks_examples_file": "api.github.com/index.json",
            "made_by": "tests/github/spec/extract.py",
        },
        "operations": operations,
        "webhooks": webhooks,
    }


def main(argv: list[str]) -> None:
    openapi_tgz, examples_tgz = (Path(arg) for arg in argv)
    data = extract(openapi_tgz, examples_tgz)
    OUT.write_text(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    )
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
