"""Recipients: validated, normalised, and reduced to a keyed digest (for lookup) and a masked hint."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .errors import FieldError, InvalidInput

Channel = Literal["email", "sms"]


@dataclass(frozen=True)
class Recipient:
    """A normalised recipient: ``email`` addresses lower-cased, phone numbers in E.164."""

    kind: Literal["email", "phone"]
    value: str

    @property
    def channel(self) -> Channel:
        """The delivery channel this recipient is reached on."""
        return "email" if self.kind == "email" else "sms"

    def digest(self, secret: bytes) -> str:
        """Keyed digest used to find this recipient's tokens without storing the address."""
        return hmac.new(secret, f"octotp-recipient:{self.kind}:{self.value}".encode(), hashlib.sha256).hexdigest()

    @property
    def hint(self) -> str:
        """A masked form safe to show in the dashboard and logs: ``j***@example.com``, ``+44*******123``."""
        if self.kind == "email":
            local, _, domain = self.value.rpartition("@")
            return f"{local[:1]}***@{domain}"
        keep_head = 3 if len(self.value) > 8 else 2
        return self.value[:keep_head] + "*" * (len(self.value) - keep_head - 3) + self.value[-3:]


def normalise_email(raw: str, field: str = "email") -> Recipient:
    """Validate syntax (no DNS lookups) and normalise; matching is case-insensitive."""
    try:
        valid = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(FieldError(field, str(exc))) from None
    return Recipient("email", valid.normalized.lower())


def normalise_phone(raw: str, default_region: str | None = None, field: str = "phone") -> Recipient:
    """Parse with phonenumbers and return the E.164 form."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        reason = str(exc).split(") ", 1)[-1]
        if default_region is None and exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            reason = "must be in international format (+ and country code)"
        raise InvalidInput(FieldError(field, reason)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(FieldError(field, "is not a valid phone number"))
    return Recipient("phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def recipient_from(email: str | None, phone: str | None, default_region: str | None = None) -> Recipient:
    """Exactly one of ``email`` and ``phone`` must be given (``None`` counts as absent)."""
    if (email is None) == (phone is None):
        reason = "exactly one recipient is required: an email or a phone number"
        raise InvalidInput([FieldError("email", reason), FieldError("phone", reason)], reason)
    if email is not None:
        return normalise_email(email)
    assert phone is not None
    return normalise_phone(phone, default_region)
