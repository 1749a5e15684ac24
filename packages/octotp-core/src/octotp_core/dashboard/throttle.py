"""Login throttling on the ``limits`` library, in the same storage as the API's rate limits (so
``database://`` and ``redis://`` count across every process). Checked before any password hashing."""

from __future__ import annotations

import hashlib
import math
import time

from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from ..errors import InvalidInput, StorageUnavailable
from ..recipients import normalise_email


def login_identity(email: str) -> str:
    """The form of a login email that the account lookup uses; input that is no email address at all
    (which finds no account) is keyed on its trimmed lower case."""
    try:
        return normalise_email(email, field="email").value
    except InvalidInput:
        return email.strip().lower()


class LoginThrottle:
    """At most N attempts per email address and M per client address in any moving window."""

    def __init__(self, storage: Storage, per_email: str, per_address: str, scope: str = "dashboard-login") -> None:
        """``scope`` names the counters: another form (sign-up, password reset) counts on its own."""
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_email = parse(per_email)
        self._per_address = parse(per_address)
        self._scope = scope

    def hit(self, email: str | None, address: str | None) -> int | None:
        """Count one attempt; None if allowed, else the seconds until the next one may be tried."""
        checks = [(self._per_address, f"{self._scope}-address", address or "unknown")]
        if email is not None:
            # Keyed on the identity the login looks up (email-validator's normal form), so no other
            # spelling of an address gets a budget of its own; a digest, so the limit storage (e.g.
            # a shared Redis) never holds email addresses.
            key = hashlib.sha256(login_identity(email).encode()).hexdigest()
            checks.append((self._per_email, f"{self._scope}-email", key))
        try:
            refused = [(item, scope, key) for item, scope, key in checks if not self._limiter.hit(item, scope, key)]
            if not refused:
                return None
            resets = [self._limiter.get_window_stats(item, scope, key).reset_time for item, scope, key in refused]
        except Exception as exc:  # the backend (e.g. Redis) is down
            raise StorageUnavailable(
                f"rate-limit storage unavailable: {type(exc).__name__}", source="rate_limit_storage"
            ) from exc
        return max(1, math.ceil(max(resets) - time.time()))
