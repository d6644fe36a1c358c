"""The run's details page (a check run's `details_url`): status, verdict and the live log.

Reached only through the unguessable link in the check run; it lists nothing else.
"""

from __future__ import annotations

import html
import json

from app.state.jobs import FINISHED, QUEUED, Job

# The page shows the start and the end of a long log; the raw log has all that is kept of it.
LOG_WINDOW = 256 * 1024

STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em}
pre{background:#f6f8fa;padding:1em;overflow:auto;white-space:pre-wrap}
.state{font-weight:600}.success{color:#1a7f37}.failure,.timed_out{color:#cf222e}
.cancelled,.skipped,.neutral{color:#57606a}.queued,.running{color:#9a6700}"""

# Polls for the log's new bytes while the run goes on, then reloads once for the verdict.
SCRIPT = """
const log = document.getElementById("log");
let offset = %(offset)d;
async function poll() {
  const r = await fetch("%(log_url)s?offset=" + offset, {cache: "no-store"});
  if (r.ok) {
    const text = await r.text();
    if (text) { log.textContent += text; offset = Number(r.headers.get("X-Log-Size")); }
    if (r.headers.get("X-Run-State") === "finished") { location.reload(); return; }
  }
  setTimeout(poll, 1000);
}
setTimeout(poll, 1000);
"""


def run_page(job: Job, data: bytes, size: int) -> str:
    """The page, with the log so far (`data`, `size` bytes of output: more when the log's cap
    dropped some); while the run goes on, it polls for more from there."""
    output = job.output
    state = job.conclusion or job.state
    shown = _window(data)
    title = (
        output.title if output else ("Waiting for a worker" if job.state == QUEUED else "Running")
    )
    script = ""
    if job.state != FINISHED:
        script = (
            "<script>"
            + SCRIPT
            % {
                "offset": size,
                "log_url": json.dumps(f"{job.public_id}/log")[1:-1],
            }
            + "</script>"
        )
    e = html.escape
    attempts = (
        f'<p class="attempts">{e(job.earlier_attempts)}</p>\n' if job.earlier_attempts else ""
    )
    asked = job.request
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(job.check_name)} · {e(asked.repo_full_name)} {asked.head_sha[:7]}: {e(state)}</title>
<style>{STYLE}</style></head><body>
<h1>{e(job.check_name)} · {e(job.request.repo_full_name)}</h1>
<p>Commit <code>{job.request.head_sha}</code> · <span class="state {e(state)}">{e(state)}</span>
· {e(job.request.reason)}</p>
{attempts}<h2>{e(title)}</h2>
<pre>{e(output.summary if output else "")}</pre>
<h2>Output</h2><p><a href="{e(job.public_id)}/log">raw log</a></p>
<pre id="log">{e(shown)}</pre>
{script}
</body></html>"""


def _window(data: bytes) -> str:
    """The log, or its first and last lines when it is longer than the page shows."""
    if len(data) <= LOG_WINDOW:
        return data.decode(errors="replace")
    half = LOG_WINDOW // 2
    head = data[:half].decode(errors="replace").rsplit("\n", 1)[0]
    tail = data[-half:].decode(errors="replace").split("\n", 1)[-1]
    hidden = len(data) - len(head.encode()) - len(tail.encode())
    return f"{head}\n… {hidden} bytes not shown here (the raw log has them) …\n{tail}"
