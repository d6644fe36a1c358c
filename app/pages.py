"""The run's details page (a check run's `details_url`): status, verdict and the live log.

Reached only through the unguessable link in the check run; it lists nothing else.
"""

from __future__ import annotations

import html
import json

from app.queue import Job

LOG_WINDOW = 256 * 1024  # the page shows the end of a long log; the raw log has all of it

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


def run_page(job: Job, data: bytes) -> str:
    """The page, with the log so far (`data`); while the run goes on, it polls for more."""
    output = job.output or {}
    state = job.conclusion or job.state
    size = len(data)
    shown = data[-LOG_WINDOW:].decode(errors="replace")
    if len(data) > LOG_WINDOW:
        shown = "… (the start is in the raw log)\n" + shown.split("\n", 1)[-1]
    title = output.get("title") or ("Waiting for a worker" if job.state == "queued" else "Running")
    script = ""
    if job.state != "finished":
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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(job.check_name)} · {e(job.repo_full_name)} {job.head_sha[:7]}: {e(state)}</title>
<style>{STYLE}</style></head><body>
<h1>{e(job.check_name)} · {e(job.repo_full_name)}</h1>
<p>Commit <code>{job.head_sha}</code> · <span class="state {e(state)}">{e(state)}</span>
· {e(job.reason)}</p>
<h2>{e(str(title))}</h2>
<pre>{e(str(output.get("summary", "")))}</pre>
<h2>Output</h2><p><a href="{e(job.public_id)}/log">raw log</a></p>
<pre id="log">{e(shown)}</pre>
{script}
</body></html>"""
