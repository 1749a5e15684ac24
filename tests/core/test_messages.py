"""The messages octotp sends (``octotp_core.delivery.message``): every shipped locale, the locale
negotiation, what autofill reads (the code first in the subject, the preheader, the WebOTP line),
the SMS size, and a project's overrides: what ``validate_overrides`` refuses and how ``render`` uses
them. The sandbox is tested as a template author would attack it."""

from __future__ import annotations

import html.parser
import logging
import time
from importlib import resources

import pytest
from jinja2.exceptions import SecurityError

from octotp_core.delivery import SHIPPED_LOCALES, Message, negotiate, render, sms_segments, validate_overrides
from octotp_core.delivery.overrides import SAMPLE_PROJECT, SMS_MAX_SEGMENTS
from octotp_core.delivery.sandbox import ENVIRONMENTS
from octotp_core.errors import FieldError, InvalidInput
from octotp_core.recipients import normalise_email

REQUIRED_LOCALES = ("en", "de", "fr", "es", "pt", "it", "nl", "pl", "ja")
CODE = "0123456789"
PROJECT = SAMPLE_PROJECT  # 40 characters
HOUR = 3600


def test_a_40_character_project_name() -> None:
    assert len(PROJECT) == 40


def test_the_required_locales_ship() -> None:
    assert set(REQUIRED_LOCALES) <= set(SHIPPED_LOCALES)


# -- locale negotiation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("requested", "default", "chosen"),
    [
        ("pt-BR", None, "pt"),
        ("pt_PT", None, "pt"),
        ("de_AT", None, "de"),
        ("de-DE-u-co-phonebk", None, "de"),  # an extension Babel cannot read: the language still counts
        ("fr-CA", None, "fr"),
        ("es-419", None, "es"),
        ("EN-gb", None, "en"),
        ("nl-BE", None, "nl"),
        ("ja-JP", None, "ja"),
        ("pl", None, "pl"),
        ("it-CH", None, "it"),
        ("zh", None, "en"),  # not shipped: English
        ("zh-Hant-TW", "de", "de"),  # not shipped: the project's default
        ("zh", "pt-BR", "pt"),  # the default is negotiated too
        ("zh", "zh", "en"),
        (None, "fr", "fr"),
        ("", None, "en"),
        (None, None, "en"),
        ("x-klingon", None, "en"),
        ("not a locale!", "it", "it"),
    ],
)
def test_the_requested_locale_is_negotiated(requested: str | None, default: str | None, chosen: str) -> None:
    assert negotiate(requested, default) == chosen
    assert render("email", "a@example.com", "123456", "Acme", 300, requested, default_locale=default).locale == chosen


# -- every shipped locale --------------------------------------------------------------------------------
class _Html(html.parser.HTMLParser):
    """The body's elements in order, with their text and style, and the html element's lang."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.in_body = False
        self.body_elements: list[tuple[str, str]] = []  # (tag, style) of each element in the body
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if self.in_body:
            self.body_elements.append((tag, dict(attrs).get("style") or ""))
        self.in_body = self.in_body or tag == "body"

    def handle_data(self, data: str) -> None:
        if self.in_body and data.strip():
            self.texts.append(data.strip())


def _parsed(markup: str) -> _Html:
    parser = _Html()
    parser.feed(markup)
    return parser


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_locale_puts_the_code_where_mail_clients_look(locale: str) -> None:
    message = render("email", "person@example.com", CODE, PROJECT, 600, locale)
    assert message.locale == locale
    # The subject starts with the code: clients offer to copy a code found there.
    assert message.subject.startswith(CODE), message.subject
    assert PROJECT in message.subject
    assert "\n" not in message.subject
    # The text body has the code on its own line near the top.
    lines = message.body.splitlines()
    assert CODE in lines[:3], lines
    assert "10" in message.body  # the lifetime, in minutes
    # The HTML body: the first element is a hidden preheader that starts with the code (the inbox
    # list shows it), the document says its language, the code is there to read.
    assert message.html is not None
    page = _parsed(message.html)
    assert page.lang == locale
    tag, style = page.body_elements[0]
    assert tag == "div"
    assert "display:none" in style
    assert page.texts[0].startswith(CODE)
    assert CODE in page.texts[1:]


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_locale_says_its_own_words(locale: str) -> None:
    message = render("email", "person@example.com", "123456", "Acme", 300, locale)
    english = render("email", "person@example.com", "123456", "Acme", 300, "en")
    if locale != "en":
        assert message.subject != english.subject
        assert message.body != english.body
        assert render("sms", "+15550100", "123456", "Acme", 300, locale).body != english.body


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_locales_sms_fits_one_segment_where_its_alphabet_is_gsm7(locale: str) -> None:
    """A 10-digit code, a 40-character project name and an hour's lifetime: the longest a default
    SMS gets. Japanese needs UCS-2 (70 characters per SMS): two segments."""
    message = render("sms", "+15550100", CODE, PROJECT, HOUR, locale)
    assert message.body.startswith(CODE)
    size = sms_segments(message.body)
    if locale == "ja":
        assert (size.encoding, size.segments) == ("UCS-2", 2)
        # A short project name fits one.
        assert sms_segments(render("sms", "+15550100", "123456", "Acme", 300, locale).body).segments == 1
    else:
        assert (size.encoding, size.segments) == ("GSM-7", 1), (message.body, size)
        # With the WebOTP line for a typical domain it still does.
        with_line = render(
            "sms", "+15550100", CODE, PROJECT, HOUR, locale, overrides={"webotp_domain": "login.example.com"}
        )
        assert sms_segments(with_line.body) == type(size)("GSM-7", size.units + 32, 1)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_shipped_templates_keep_the_rules_a_project_keeps(locale: str) -> None:
    """A project can start from octotp's own text: every shipped template is a valid override."""
    folder = resources.files("octotp_core.delivery") / "templates" / locale
    overrides = {
        field: (folder / filename).read_text(encoding="utf-8")
        for field, filename in (
            ("subject", "subject.txt"),
            ("text", "text.txt"),
            ("html", "html.html"),
            ("sms", "sms.txt"),
        )
    }
    assert validate_overrides(overrides) == []
    same = render("email", "a@example.com", "123456", "Acme", 300, locale, overrides=overrides)
    default = render("email", "a@example.com", "123456", "Acme", 300, locale)
    assert (same.subject, same.body, same.html) == (default.subject, default.body, default.html)


@pytest.mark.parametrize(
    ("locale", "one", "five"),
    [
        ("en", "1 minute.", "5 minutes."),
        ("de", "1 Minute gültig", "5 Minuten gültig"),
        ("fr", "1 minute.", "5 minutes."),
        ("es", "1 minuto.", "5 minutos."),
        ("pt", "1 minuto.", "5 minutos."),
        ("it", "1 minuto.", "5 minuti."),
        ("nl", "1 minuut.", "5 minuten."),
    ],
)
def test_the_lifetime_is_singular_or_plural(locale: str, one: str, five: str) -> None:
    assert one in render("email", "a@example.com", "123456", "Acme", 60, locale).body
    assert five in render("email", "a@example.com", "123456", "Acme", 300, locale).body


def test_a_project_name_is_escaped_in_html_and_kept_in_text() -> None:
    message = render("email", "a@example.com", "123456", "Tom & <b>Jerry</b>", 300, "en")
    assert message.html is not None
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;" in message.html
    assert "<b>Jerry" not in message.html
    assert "Tom & <b>Jerry</b>" in message.body
    assert message.subject == "123456 is your Tom & <b>Jerry</b> verification code"


def test_a_project_name_cannot_break_the_subject_onto_two_lines() -> None:
    message = render("email", "a@example.com", "123456", "Acme\r\nBcc: victim@example.com", 300, "en")
    assert "\n" not in message.subject
    assert "\r" not in message.subject


def test_the_repr_hides_code_recipient_and_bodies() -> None:
    message = render("email", "person@example.com", "908172", "Acme", 300, "fr", overrides={"sender_name": "Acme"})
    assert repr(message) == "Message(channel='email', locale='fr')"
    assert message.html is not None
    assert "908172" in message.html
    sms = render("sms", "+15550100", "908172", "Acme", 300, "fr")
    assert repr(sms) == "Message(channel='sms', locale='fr')"


def test_an_sms_has_no_html_and_no_sender() -> None:
    sms = render(
        "sms", "+15550100", "123456", "Acme", 300, "en", overrides={"sender_name": "Acme", "reply_to": "a@acme.example"}
    )
    assert (sms.html, sms.sender_name, sms.reply_to) == (None, None, None)
    assert sms.body == "123456 is your Acme verification code. It expires in 5 min."


def test_the_webotp_line_ends_the_sms() -> None:
    sms = render("sms", "+15550100", "123456", "Acme", 300, "de", overrides={"webotp_domain": "Login.Example.COM"})
    *text, blank, last = sms.body.split("\n")
    assert last == "@login.example.com #123456"
    assert blank == ""
    assert text == ["123456 ist Ihr Bestätigungscode für Acme. Er ist 5 Min. gültig."]
    # No domain, no line.
    assert "@" not in render("sms", "+15550100", "123456", "Acme", 300, "de").body


def test_the_old_signature_still_renders() -> None:
    message = render("email", "user@example.com", "123456", "Shop", 300, None)
    assert isinstance(message, Message)
    assert (message.channel, message.to, message.code, message.locale) == ("email", "user@example.com", "123456", "en")
    assert Message("email", "kim@example.com", "042917", "s", "b", "en").html is None


# -- overrides: what render does with them -------------------------------------------------------
OWN = {
    "sender_name": "Acme Support",
    "reply_to": "help@acme.example",
    "subject": "{{ code }} — your {{ project|upper }} code",
    "text": "Code: {{ code }}\nValid for {{ minutes }} minutes.",
    "html": "<p>Code: <strong>{{ code }}</strong> for {{ project }}</p>",
    "sms": "{{ project }}: {{ code }} ({{ minutes }} min)",
    "webotp_domain": "acme.example",
}


def test_render_uses_a_projects_own_words_in_every_locale() -> None:
    for locale in ("en", "ja"):
        email = render("email", "a@example.com", "123456", "Acme <Labs>", 120, locale, overrides=OWN)
        assert email.subject == "123456 — your ACME <LABS> code"
        assert email.body == "Code: 123456\nValid for 2 minutes."
        assert email.html == "<p>Code: <strong>123456</strong> for Acme &lt;Labs&gt;</p>"
        assert (email.sender_name, email.reply_to, email.locale) == ("Acme Support", "help@acme.example", locale)
        sms = render("sms", "+15550100", "123456", "Acme", 120, locale, overrides=OWN)
        assert sms.body == "Acme: 123456 (2 min)\n\n@acme.example #123456"


def test_blank_overrides_mean_the_defaults() -> None:
    blank = {field: "  " for field in OWN} | {"html": None}
    assert validate_overrides(blank) == []
    assert render("email", "a@example.com", "123456", "Acme", 300, "en", overrides=blank) == render(
        "email", "a@example.com", "123456", "Acme", 300, "en"
    )


def test_a_text_of_its_own_without_html_goes_alone() -> None:
    email = render("email", "a@example.com", "123456", "Acme", 300, "en", overrides={"text": "Code {{ code }}"})
    assert (email.body, email.html) == ("Code 123456", None)


def test_an_html_without_its_text_is_not_used() -> None:
    email = render("email", "a@example.com", "123456", "Acme", 300, "en", overrides={"html": "<p>{{ code }}</p>"})
    assert email.html == render("email", "a@example.com", "123456", "Acme", 300, "en").html


def test_a_broken_override_falls_back_to_the_default_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """An override stored some other way (or under older rules): the code still goes out."""
    caplog.set_level(logging.WARNING, logger="octotp.delivery")
    broken = {"subject": "{{ project.__class__ }} {{ code }}", "sms": "no code here", "reply_to": "not an address"}
    email = render("email", "a@example.com", "552211", "Acme", 300, "en", overrides=broken)
    assert email.subject == "552211 is your Acme verification code"
    assert email.reply_to is None
    sms = render("sms", "+15550100", "552211", "Acme", 300, "en", overrides=broken)
    assert sms.body == "552211 is your Acme verification code. It expires in 5 min."
    lines = [r.getMessage() for r in caplog.records if r.name == "octotp.delivery"]
    assert any("field=subject" in line and "the default is used" in line for line in lines)
    assert any("field=sms" in line for line in lines)
    assert not any("552211" in line for line in lines)


def test_an_override_that_hides_the_code_for_a_real_project_is_not_used(caplog: pytest.LogCaptureFixture) -> None:
    """The sample renders pass, but this project's name takes the branch without the code."""
    caplog.set_level(logging.WARNING, logger="octotp.delivery")
    sneaky = {"subject": "{% if project == 'Acme' %}Hello{% else %}{{ code }}{% endif %}"}
    assert validate_overrides(sneaky) == []
    assert render("email", "a@example.com", "123456", "Acme", 300, "en", overrides=sneaky).subject.startswith(
        "123456 is"
    )
    assert any("field=subject" in r.getMessage() for r in caplog.records)


# -- overrides: what validate_overrides refuses --------------------------------------------------
def test_a_good_set_of_overrides_has_no_errors() -> None:
    assert validate_overrides(OWN) == []
    assert validate_overrides({}) == []
    # The project's own name is what the renders try: a 200-character one makes the subject too long.
    assert [e.field for e in validate_overrides(OWN, project="A" * 200)] == ["subject"]


def _reason(field: str, value: object, **more: object) -> str:
    errors = validate_overrides({field: value, **more})
    assert [e.field for e in errors] == [field], errors
    return errors[0].reason


@pytest.mark.parametrize(
    ("source", "says"),
    [
        # Attribute and item access: the classic escapes from a template.
        ("{{ ''.__class__ }}{{ code }}", "cannot read attributes"),
        ("{{ code.__class__.__mro__ }}", "cannot read attributes"),
        ("{{ project['__class__'] }}{{ code }}", "cannot read attributes or items"),
        ("{{ code }}{{ ''.__class__.__mro__[1].__subclasses__() }}", "cannot call"),
        ("{{ code }}{{ project|attr('__class__') }}", "cannot use the filter attr"),
        ("{{ code }}{{ '{0.__class__}'|format(project) }}", "cannot use the filter format"),
        ("{{ code }}{{ project|safe }}", "cannot use the filter safe"),
        ("{{ code }}{{ project.upper() }}", "cannot call"),
        # Globals and Jinja's special names.
        ("{{ code }}{{ cycler.__init__.__globals__ }}", "cannot read attributes"),
        ("{{ code }}{{ lipsum() }}", "cannot call"),
        ("{{ code }}{{ config }}", "may only use the variables code, minutes and project (not config)"),
        ("{{ code }}{{ self }}", "(not self)"),
        ("{{ code }}{{ request }}", "(not request)"),
        ("{{ code }}{{ range }}", "(not range)"),
        # Statements beyond {% if %}.
        ("{{ code }}{% for c in project %}{{ c }}{% endfor %}", "cannot use {% for %}"),
        ("{{ code }}{% set x = 1 %}", "cannot use {% set %}"),
        ("{{ code }}{% macro m() %}{% endmacro %}", "cannot use {% macro %}"),
        ("{{ code }}{% include 'en/text.txt' %}", "cannot use {% include %}"),
        ("{% extends 'en/text.txt' %}", "cannot use {% extends %}"),
        ("{{ code }}{% import 'en/text.txt' as t %}", "cannot use {% import %}"),
        ("{{ code }}{% with a = 1 %}{% endwith %}", "cannot use {% with %}"),
        ("{{ code }}{% filter upper %}x{% endfilter %}", "cannot use {% filter %}"),
        ("{% autoescape false %}{{ code }}{% endautoescape %}", "cannot use {% autoescape %}"),
        # Expressions that could make a message huge.
        ("{{ code }}{{ 'a' * 1000000000 }}", "whole numbers only (*)"),
        ("{{ code }}{{ minutes ** 100 }}", "cannot use this expression (pow)"),
        ("{{ code }}{{ '%999999999s' % 1 }}", "whole numbers only (%)"),
        ("{{ code }}{{ [1, 2] }}", "cannot use this expression (list)"),
        ("{{ code }}{{ project is string }}", "cannot use tests"),
        # Mistakes.
        ("{{ code ", "is not a valid template (line 1:"),
        ("{% if minutes %}{{ code }}", "is not a valid template"),
        ("Hello {{ project }}", "must show the code: put {{ code }} in it"),
        ("{% if minutes > 30 %}{{ code }}{% endif %}", "must show the code"),  # not at 1 minute
        ("{% raw %}{{ code }}{% endraw %}", "must show the code"),
        ("{{ code }}{{ project - 1 }}", "does not render"),
        ("{{ code }}{{ minutes // 0 }}", "does not render (integer division or modulo by zero)"),
    ],
)
def test_the_sandbox_refuses(source: str, says: str) -> None:
    started = time.monotonic()
    for field in ("subject", "text", "html", "sms"):
        extra = {"text": "{{ code }}"} if field == "html" else {}
        reason = _reason(field, source, **extra)
        assert says in reason, reason
    assert time.monotonic() - started < 2  # refused, not computed


def test_a_template_that_nests_too_deeply_is_refused_not_a_crash() -> None:
    deep = "{{ code }}{{ " + "(" * 2000 + "minutes" + ")" * 2000 + " }}"
    assert _reason("text", deep) == "nests too deeply"
    ifs = "{{ code }}" + "{% if minutes %}" * 2000 + "{% endif %}" * 2000
    assert _reason("html", ifs, text="{{ code }}") == "nests too deeply"


def test_the_sandbox_itself_refuses_an_attribute_the_check_would_stop() -> None:
    """The second wall: even compiled without the check, the environment will not read a dunder."""
    template = ENVIRONMENTS["text"].from_string("{{ ''.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        template.render()
    assert ENVIRONMENTS["text"].globals == {}
    assert "attr" not in ENVIRONMENTS["html"].filters
    assert "format" not in ENVIRONMENTS["html"].filters


def test_a_polish_plural_with_arithmetic_works() -> None:
    polish = (
        "Kod {{ code }} wygasa za {{ minutes }} "
        "{% if minutes == 1 %}minutę{% elif minutes % 10 >= 2 and minutes % 10 <= 4 "
        "and (minutes % 100 < 10 or minutes % 100 >= 20) %}minuty{% else %}minut{% endif %}."
    )
    assert validate_overrides({"text": polish}) == []
    words = [
        render("email", "a@example.com", "1234", "Acme", m * 60, "pl", overrides={"text": polish}).body
        for m in (1, 2, 5, 12, 22)
    ]
    assert [w.rsplit(" ", 1)[1] for w in words] == ["minutę.", "minuty.", "minut.", "minut.", "minuty."]


def test_length_limits() -> None:
    assert "at most 1,000 characters" in _reason("subject", "{{ code }}" + "x" * 1000)
    assert "render to at most 200 characters" in _reason("subject", "{{ code }} " + "{{ project }}" * 6)
    assert "at most 10,000 characters" in _reason("text", "{{ code }}" + "x" * 10_000)
    assert _reason("html", "{{ code }}" + "x" * 100_000, text="{{ code }}").startswith("must be at most 100,000")


def test_an_sms_may_take_three_segments_including_the_webotp_line() -> None:
    longest = "{{ code }} " + "a" * (3 * 153 - 11)  # 459 septets with a 10-digit code: three parts
    assert validate_overrides({"sms": longest}) == []
    reason = _reason("sms", longest, webotp_domain="login.example.com")
    assert reason == f"takes 4 SMS segments (GSM-7) with a 10-digit code; at most {SMS_MAX_SEGMENTS}"
    assert "(UCS-2)" in _reason("sms", "{{ code }} " + "ż" * 300)


def test_html_needs_its_text() -> None:
    assert validate_overrides({"html": "<p>{{ code }}</p>"}) == [
        FieldError("text", "is needed when html is set: it is the same email's plain-text part")
    ]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("sender_name", "Acme\nBcc: x@example.com", "must be one line"),
        ("sender_name", "A" * 65, "at most 64 characters"),
        ("reply_to", "not an address", "must be an email address"),
        ("reply_to", "a@b@example.com", "must be an email address"),
        ("webotp_domain", "https://login.example.com", "must be a host name such as login.example.com"),
        ("webotp_domain", "login.example.com/path", "must be a host name"),
        ("webotp_domain", "login.example.com:443", "must be a host name"),
        ("webotp_domain", "-bad.example.com", "must be a host name"),
        ("webotp_domain", "a..example.com", "must be a host name"),
        (
            "colour",
            "red",
            "is not a message setting (known: sender_name, reply_to, subject, text, html, sms, webotp_domain)",
        ),
        ("subject", 42, "must be text"),
    ],
)
def test_the_settings_around_the_templates(field: str, value: object, says: str) -> None:
    assert says in _reason(field, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sender_name", "Bäckerei Müller & Söhne"), ("reply_to", "Help@Acme.example"), ("webotp_domain", "localhost")],
)
def test_good_settings_around_the_templates(field: str, value: str) -> None:
    assert validate_overrides({field: value}) == []


def test_every_error_is_named_by_its_field() -> None:
    errors = validate_overrides(
        {"subject": "{{ nope }}", "sms": "{{ code.x }}", "html": "<p>{{ code }}</p>", "reply_to": "x", "theme": "dark"}
    )
    assert sorted(e.field for e in errors) == ["reply_to", "sms", "subject", "text", "theme"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("Support@Example.com", True),
        ("help+otp@example.co.uk", True),
        ("no-at-sign", False),
        ("a@b@example.com", False),
        ("user@localhost", False),
        ("x@.com", False),
    ],
)
def test_a_reply_to_keeps_the_rules_of_a_recipients_address(value: str, valid: bool) -> None:
    errors = validate_overrides({"reply_to": value})
    if valid:
        assert errors == []
        assert normalise_email(value).value == value.lower()
        return
    with pytest.raises(InvalidInput) as refused:
        normalise_email(value)
    assert errors == [FieldError("reply_to", f"must be an email address ({refused.value.errors[0].reason})")]
