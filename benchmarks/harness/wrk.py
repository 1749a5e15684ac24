"""The load generator: wrk (Debian's package) in its own process, driven by generated Lua scripts.

Each script names a fresh recipient per request (``<pool><thread>-<n>@bench.example``), counts the
outcome of every response (HTTP status, and the validation ``status`` when there is one) and prints
one JSON line with the summary and latency percentiles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .data import CODE, WRONG_CODE

_COMMON = r"""
local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  counts = {}
  pending = {}
end

local function count(key)
  counts[key] = (counts[key] or 0) + 1
end

local function header(headers, name)
  for k, v in pairs(headers) do
    if string.lower(k) == name then return v end
  end
  return nil
end

local function outcome(status, body)
  local s = string.match(body, '"status":%s*"([%a_]+)"')
  if s then return tostring(status) .. ":" .. s end
  return tostring(status)
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "outcomes": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", ")))
end
"""

_SIMPLE = r"""
function request()
  n = n + 1
  local body = nil
  if BODY_FORMAT then body = string.format(BODY_FORMAT, tid, n) end
  return wrk.format(METHOD, PATH, HEADERS, body)
end

function response(status, headers, body)
  count(outcome(status, body))
end
"""

# create, then validate the code it returned (matched to its recipient through X-Request-Id)
_MIXED = r"""
function request()
  local p = table.remove(pending, 1)
  if p then
    return wrk.format("POST", VALIDATE_PATH, HEADERS, string.format(VALIDATE_FORMAT, tid, p[1], p[2]))
  end
  n = n + 1
  local h = {}
  for k, v in pairs(HEADERS) do h[k] = v end
  h["X-Request-Id"] = "m" .. tid .. "-" .. n
  return wrk.format("POST", CREATE_PATH, h, string.format(CREATE_FORMAT, tid, n))
end

function response(status, headers, body)
  if status == 201 then
    local code = string.match(body, '"code":%s*"(%d+)"')
    local rid = header(headers, "x-request-id") or ""
    local m = string.match(rid, "^m%d+%-(%d+)$")
    if code and m then table.insert(pending, {tonumber(m), code}) end
    count("201:created")
  else
    count(outcome(status, body))
  end
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for our ASCII values


def _headers(api_key: str | None, json_body: bool) -> str:
    items = []
    if json_body:
        items.append('["Content-Type"] = "application/json"')
    if api_key:
        items.append(f'["X-Api-Key"] = {_lua_string(api_key)}')
    return "HEADERS = {" + ", ".join(items) + "}"


def _body_format(pool: str, project_id: str | None, code: str | None) -> str:
    """A Lua ``string.format`` pattern for a JSON body naming ``<pool><tid>-<n>@bench.example``
    (``%d`` thread, ``%d`` request number; a ``code`` of ``%s`` leaves a third placeholder)."""
    body: dict[str, str] = {}
    if project_id:
        body["projectId"] = project_id
    body["recipientEmail"] = f"{pool}%d-%d@bench.example"
    if code:
        body["code"] = code
    return _lua_string(json.dumps(body, separators=(",", ":")))


@dataclass(frozen=True)
class Target:
    """What the scripts need to know about a server."""

    url: str
    prefix: str
    project_id: str
    api_key: str


def _peer_body_format(pool: str, code: str | None) -> str:
    """The peer's body: ``{"user": "<pool><tid>-<n>@bench.example"}`` (plus ``code``), as a Lua format."""
    body = {"user": f"{pool}%d-%d@bench.example", **({"code": code} if code else {})}
    return _lua_string(json.dumps(body, separators=(",", ":")))


PEER_CASES = {"peer-create": ("/peer/create", None), "peer-validate-ok": ("/peer/validate", CODE)}


def script(case: str, target: Target, pool: str) -> str:
    """The Lua script for one case: hello, reference, create, validate-ok, validate-bad or mixed, or
    the django-otp peer's peer-create and peer-validate-ok (``benchapps.django_host.views``)."""
    api = target.prefix + "/api/tokens"
    if case in PEER_CASES:
        path, code = PEER_CASES[case]
        consts = ['METHOD = "POST"', f"PATH = {_lua_string(path)}", _headers(None, True)]
        consts.append(f"BODY_FORMAT = {_peer_body_format(pool, code)}")
        return _COMMON + "\n".join(consts) + "\n" + _SIMPLE
    if case == "hello":
        consts = ['METHOD = "GET"', 'PATH = "/bench/hello"', "HEADERS = {}", "BODY_FORMAT = nil"]
        return _COMMON + "\n".join(consts) + "\n" + _SIMPLE
    if case == "mixed":
        consts = [
            f"CREATE_PATH = {_lua_string(api)}",
            f"VALIDATE_PATH = {_lua_string(api + '/validate')}",
            _headers(target.api_key, True),
            f"CREATE_FORMAT = {_body_format(pool, target.project_id, None)}",
            f"VALIDATE_FORMAT = {_body_format(pool, target.project_id, '%s')}",
        ]
        return _COMMON + "\n".join(consts) + "\n" + _MIXED
    if case == "reference":
        path, body = "/bench/create", _body_format(pool, None, None)
        headers = _headers(None, True)
    elif case == "create":
        path, body, headers = api, _body_format(pool, target.project_id, None), _headers(target.api_key, True)
    elif case in ("validate-ok", "validate-bad"):
        code = CODE if case == "validate-ok" else WRONG_CODE
        path, body = api + "/validate", _body_format(pool, target.project_id, code)
        headers = _headers(target.api_key, True)
    else:
        raise ValueError(case)
    consts = ['METHOD = "POST"', f"PATH = {_lua_string(path)}", headers, f"BODY_FORMAT = {body}"]
    return _COMMON + "\n".join(consts) + "\n" + _SIMPLE


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (see benchmarks/README.md)")
    return path


def run(
    target: Target, case: str, pool: str, *, seconds: float, connections: int, threads: int, workdir: Path
) -> WrkResult:
    """Run wrk for ``seconds`` against ``target`` and return its numbers."""
    lua = workdir / f"{case}-{pool}.lua"
    lua.write_text(script(case, target, pool))
    cmd = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        target.url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
        outcomes=data["outcomes"],
    )
