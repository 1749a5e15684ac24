"""The two reference endpoints every benchmarked server carries beside octotp, framework-neutral.

- ``GET /bench/hello``: a JSON hello-world, the framework's and server's own floor.
- ``POST /bench/create``: a hand-written "create" doing only the unavoidable work of issuing a code:
  parse the JSON body, draw a code, hash it once with the same hasher and profile octotp uses
  (argon2id ``otp``/``owasp``, or HMAC-SHA256), insert one row through the same driver, answer JSON.

Configuration comes from the same ``OCTOTP_*`` environment variables the octotp side reads, so both
sides of a comparison always hash the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher, Type
from sqlalchemy import Column, DateTime, MetaData, String, Table

from octotp_core.hashing import ARGON2_PROFILES

HELLO_BODY = b'{"hello":"world"}'
REFERENCE_TABLE = "bench_reference_tokens"

metadata = MetaData()
reference_tokens = Table(
    REFERENCE_TABLE,
    metadata,
    Column("id", String(36), primary_key=True),
    Column("recipient", String(320), nullable=False),
    Column("code_hash", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def make_hash() -> Callable[[str], str]:
    """The code hash octotp would use under the current ``OCTOTP_HASHER`` / ``OCTOTP_ARGON2_PROFILE``."""
    if os.environ.get("OCTOTP_HASHER", "argon2") == "hmac":
        key = os.environ.get("OCTOTP_SECRET_KEY", "reference").encode()
        return lambda code: hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
    time_cost, memory_cost, parallelism = ARGON2_PROFILES[os.environ.get("OCTOTP_ARGON2_PROFILE", "otp")]
    hasher = PasswordHasher(time_cost, memory_cost, parallelism, type=Type.ID)
    return hasher.hash


def new_row(body: bytes, hash_code: Callable[[str], str]) -> tuple[dict[str, Any], bytes]:
    """The row to insert for a create request, and the response body to send once it is stored."""
    data = json.loads(body)
    code = f"{secrets.randbelow(10**6):06d}"
    row = {
        "id": str(uuid.uuid4()),
        "recipient": str(data["recipientEmail"]).lower(),
        "code_hash": hash_code(code),
        "created_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    }
    return row, json.dumps({"id": row["id"], "code": code}).encode()
