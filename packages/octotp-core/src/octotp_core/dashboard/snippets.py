"""Ready-to-paste code for a project's page: create a code, then validate it, with curl, Python
(octotp-client) and JavaScript ``fetch``, the API's URL and the project id filled in.

The API key is never put in a snippet (it is shown once, elsewhere): every snippet reads it from
the ``OCTOTP_API_KEY`` environment variable. The values that are filled in are checked first (a
project id is a UUID; the host must look like one) and then quoted for each language (``shlex`` for
the shell, JSON string literals for Python and JavaScript), so a forged ``Host`` header can never
turn a pasted snippet into something else.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from ..http.messages import Request
from ..http.routes import DASHBOARD_PATH
from ..ids import is_uuid

FALLBACK_BASE_URL = "http://127.0.0.1:8000"
"""Where ``octotp serve`` listens by default: used when the request's ``Host`` is missing or not a host."""

API_KEY_VARIABLE = "OCTOTP_API_KEY"
EXAMPLE_EMAIL = "user@example.com"

_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::[0-9]{1,5})?"
)
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


@dataclass(frozen=True)
class Snippet:
    """One snippet: ``key`` names it in ids ("curl"), ``title`` for its heading, ``language`` for
    its ``<code class="language-…">``, ``run`` how to run it, and the code."""

    key: str
    title: str
    language: str
    run: str
    code: str


def api_base_url(request: Request, dashboard_base: str) -> str:
    """The API's URL as the browser reached the dashboard: scheme (``X-Forwarded-Proto`` from a
    trusted proxy already applied by the handler), ``Host``, and the mount prefix (the dashboard is at
    ``<prefix>/dashboard``, the API at ``<prefix>/api/...``). Falls back to ``FALLBACK_BASE_URL``
    when the ``Host`` header is missing or is not a host name or address with an optional port."""
    host = (request.header("host") or "").strip()
    if not _HOST.fullmatch(host):
        return FALLBACK_BASE_URL
    base = dashboard_base.rstrip("/")
    prefix = base[: -len(DASHBOARD_PATH)] if base.endswith(DASHBOARD_PATH) else ""
    if not _PREFIX.fullmatch(prefix):
        prefix = ""
    scheme = "https" if request.scheme == "https" else "http"
    return f"{scheme}://{host}{prefix}"


def _checked(base_url: str, project_id: str) -> None:
    if not is_uuid(project_id):
        raise ValueError("project_id must be a UUID")
    scheme, _, rest = base_url.partition("://")
    host, slash, prefix = rest.partition("/")
    if scheme not in ("http", "https") or not _HOST.fullmatch(host) or not _PREFIX.fullmatch(slash + prefix):
        raise ValueError("base_url must be http(s)://host[:port][/prefix]")


def curl_snippet(base_url: str, project_id: str) -> str:
    """Create a code, then validate it, with curl (and jq to read the code from the answer)."""
    create_body = json.dumps({"projectId": project_id, "recipientEmail": EXAMPLE_EMAIL})
    validate_body = (
        f'{{\\"projectId\\": \\"{project_id}\\", \\"recipientEmail\\": \\"{EXAMPLE_EMAIL}\\", \\"code\\": \\"$CODE\\"}}'
    )
    return f"""\
# Your project's API key, in the environment: export {API_KEY_VARIABLE}=octotp_...
# 1. Create a code for a user. The answer is {{"id", "code", "expiresAt"}}: send the code to them.
CODE=$(curl -sS {shlex.quote(base_url + "/api/tokens")} \\
  -H "X-Api-Key: ${API_KEY_VARIABLE}" -H 'Content-Type: application/json' \\
  -d {shlex.quote(create_body)} | jq -r .code)

# 2. Check the code the user typed. The answer is {{"isValid": true, "status": "approved"}}.
curl -sS {shlex.quote(base_url + "/api/tokens/validate")} \\
  -H "X-Api-Key: ${API_KEY_VARIABLE}" -H 'Content-Type: application/json' \\
  -d "{validate_body}"
"""


def python_snippet(base_url: str, project_id: str) -> str:
    """Create a code, then validate it, with octotp-client's ``OctotpClient``."""
    return f"""\
from octotp_client import OctotpClient

# OctotpClient reads your project's API key from the {API_KEY_VARIABLE} environment variable.
with OctotpClient(base_url={json.dumps(base_url)}, project_id={json.dumps(project_id)}) as octotp:
    token = octotp.create_token(email={json.dumps(EXAMPLE_EMAIL)})  # send token.code to the user
    result = octotp.validate_token(email={json.dumps(EXAMPLE_EMAIL)}, code=token.code)  # the code they typed
    print(result.is_valid, result.status)  # True approved
"""


def javascript_snippet(base_url: str, project_id: str) -> str:
    """Create a code, then validate it, with ``fetch`` (an ES module for Node 18+ or any server-side runtime)."""
    return f"""\
// On your server only (Node 18+): the API key must never reach a browser.
// Your project's API key, in the environment: {API_KEY_VARIABLE}=octotp_...
const OCTOTP_URL = {json.dumps(base_url)};
const PROJECT_ID = {json.dumps(project_id)};

async function octotp(path, body) {{
  const response = await fetch(OCTOTP_URL + path, {{
    method: "POST",
    headers: {{ "Content-Type": "application/json", "X-Api-Key": process.env.{API_KEY_VARIABLE} }},
    body: JSON.stringify({{ projectId: PROJECT_ID, ...body }}),
  }});
  if (!response.ok) throw new Error(`octotp answered ${{response.status}}: ${{await response.text()}}`);
  return response.json();
}}

const recipientEmail = {json.dumps(EXAMPLE_EMAIL)};
const token = await octotp("/api/tokens", {{ recipientEmail }}); // send token.code to the user
const result = await octotp("/api/tokens/validate", {{ recipientEmail, code: token.code }}); // the code they typed
console.log(result.isValid, result.status); // true approved
"""


def snippets(base_url: str, project_id: str) -> list[Snippet]:
    """The three snippets for a project; ``base_url`` as ``api_base_url`` returns it. ``ValueError``
    when ``project_id`` is not a UUID or ``base_url`` is not ``http(s)://host[:port][/prefix]``."""
    _checked(base_url, project_id)
    return [
        Snippet("curl", "curl", "sh", "Paste into a shell (needs curl and jq).", curl_snippet(base_url, project_id)),
        Snippet(
            "python",
            "Python (octotp-client)",
            "python",
            "With octotp-client installed (see its README), run it with python.",
            python_snippet(base_url, project_id),
        ),
        Snippet(
            "javascript",
            "JavaScript (fetch)",
            "javascript",
            "Save as octotp.mjs and run node octotp.mjs.",
            javascript_snippet(base_url, project_id),
        ),
    ]
