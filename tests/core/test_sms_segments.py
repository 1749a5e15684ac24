"""SMS segment counting (``octotp_core.delivery.sms``): GSM-7 with its extension table, UCS-2, and
the split of a long body into concatenated parts, as 3GPP TS 23.038 and phones count them."""

from __future__ import annotations

import pytest

from octotp_core.delivery.sms import GSM7_BASIC, GSM7_EXTENSION, SmsSegments, is_gsm7, sms_segments


def test_the_gsm_alphabet_has_its_127_characters_and_10_extensions() -> None:
    # 128 code points, one of them (0x1B) the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert set("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà") <= GSM7_BASIC


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Your code is 123456", True),
        ("Bestätigungscode für Müller", True),
        ("Ç", True),  # the capital is in the alphabet ...
        ("ç", False),  # ... the small letter is not (French needs care)
        ("código", False),  # ó is not in GSM-7
        ("€ [x] {y} ~ | ^ \\", True),  # the extension table
        ("Twój kod", False),
        ("認証コード", False),
        ("tab\there", False),
        ("😀", False),
    ],
)
def test_which_text_is_gsm7(text: str, gsm: bool) -> None:
    assert is_gsm7(text) is gsm
    assert sms_segments(text).encoding == ("GSM-7" if gsm else "UCS-2")


@pytest.mark.parametrize(
    ("body", "units", "segments"),
    [
        ("", 0, 1),
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),  # 153 + 8
        ("a" * 306, 306, 2),
        ("a" * 307, 307, 3),
        ("€" * 80, 160, 1),  # an extension character takes two septets
        ("a" * 159 + "€", 161, 2),
        # Naively 306 septets fit two parts of 153; but the escape and its character are never
        # split, so the first part ends before the euro sign and the body needs three.
        ("a" * 152 + "€" + "a" * 152, 306, 3),
        ("\r\n" * 80, 160, 1),  # CR and LF are in the basic set
    ],
)
def test_gsm7_segments(body: str, units: int, segments: int) -> None:
    assert sms_segments(body) == SmsSegments("GSM-7", units, segments)


@pytest.mark.parametrize(
    ("body", "units", "segments"),
    [
        ("ą" * 70, 70, 1),
        ("ą" * 71, 71, 2),  # 67 + 4
        ("ą" * 134, 134, 2),
        ("ą" * 135, 135, 3),
        ("😀" * 35, 70, 1),  # outside the BMP: two UTF-16 code units each
        ("😀" * 36, 72, 2),
        # A surrogate pair is never split either: 66 + (2 + 65) + 1.
        ("ą" * 66 + "😀" + "ą" * 66, 134, 3),
        ("a" * 69 + "ó", 70, 1),  # one character outside GSM-7 makes the whole body UCS-2
    ],
)
def test_ucs2_segments(body: str, units: int, segments: int) -> None:
    assert sms_segments(body) == SmsSegments("UCS-2", units, segments)


def test_single_limit_names_the_encodings_capacity() -> None:
    assert sms_segments("hi").single_limit == 160
    assert sms_segments("日本").single_limit == 70
