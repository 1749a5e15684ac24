"""How many SMS segments a body takes, and in which encoding (3GPP TS 23.038, GSM 03.38).

A body whose every character is in the GSM 7-bit default alphabet travels as GSM-7: 160 septets in
one SMS, 153 per part when it is split (the other 7 carry the concatenation header). A character of
the alphabet's extension table (``€ [ ] { } | ^ ~ \\`` and form feed) takes two septets, an escape and
itself, and the two are never split across parts. Any other character makes the whole body UCS-2:
70 UTF-16 code units in one SMS, 67 per part, a character outside the Basic Multilingual Plane (most
emoji) taking two units that are never split either.

Carriers' national language shift tables (Turkish, Portuguese, Indian languages) are not counted:
few networks apply them, and a count that assumes them would promise a segment the message does
not get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The GSM 7-bit default alphabet (one septet each), in code order; 0x1B, the escape to the
#: extension table, is not a character of its own and is left out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
#: The extension table: two septets each (the escape, then the character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]

#: encoding -> (units in a single SMS, units per part of a concatenated one)
LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class SmsSegments:
    """A body's size as an SMS: ``segments`` messages of ``encoding``, ``units`` septets (GSM-7) or
    UTF-16 code units (UCS-2) in all."""

    encoding: Encoding
    units: int
    segments: int

    @property
    def single_limit(self) -> int:
        """How many units one SMS of this encoding holds (160 or 70)."""
        return LIMITS[self.encoding][0]


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM 7-bit alphabet (basic set or extension)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def sms_segments(body: str) -> SmsSegments:
    """The encoding ``body`` needs and how many SMS segments it takes (an empty body: one)."""
    encoding: Encoding = "GSM-7" if is_gsm7(body) else "UCS-2"
    single, part = LIMITS[encoding]
    sizes = [_units(char, encoding) for char in body]
    total = sum(sizes)
    if total <= single:
        return SmsSegments(encoding, total, 1)
    # Split as a phone does: fill each part, moving a two-unit character that does not fit whole
    # to the next part.
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return SmsSegments(encoding, total, segments)
