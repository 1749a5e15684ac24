"""The double-accept probe: the same correct code sent twice at once, many times, each time for a
fresh token; how many codes were accepted by both requests."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class ProbeResult:
    database: str
    server: str
    tried: int = 0
    accepted_twice: int = 0
    accepted_once: int = 0
    accepted_never: int = 0
    errors: int = 0  # tries where a request failed or answered anything but 200


def _send(url: str, body: bytes, headers: dict[str, str], barrier: threading.Barrier, out: list[Any], i: int) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.connect()  # connected before the barrier, so that both requests leave together
        barrier.wait()
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        out[i] = (response.status, json.loads(data).get("status") if response.status == 200 else None)
    except Exception as exc:  # any failure is counted as an error of this try
        out[i] = exc
    finally:
        conn.close()


def probe(
    database: str, server: str, url: str, bodies: Iterable[dict[str, Any]], headers: dict[str, str]
) -> ProbeResult:
    """For each body (one fresh token's right code), two concurrent ``POST url`` released by a barrier."""
    result = ProbeResult(database, server)
    headers = {"Content-Type": "application/json", **headers}
    for body in bodies:
        data = json.dumps(body).encode()
        barrier = threading.Barrier(2, timeout=30)
        out: list[Any] = [None, None]
        threads = [threading.Thread(target=_send, args=(url, data, headers, barrier, out, i)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.tried += 1
        if any(not isinstance(o, tuple) or o[0] != 200 for o in out):
            result.errors += 1
            continue
        approved = sum(1 for _, status in out if status == "approved")
        if approved == 2:
            result.accepted_twice += 1
        elif approved == 1:
            result.accepted_once += 1
        else:
            result.accepted_never += 1
    return result
