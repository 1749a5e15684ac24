"""MkDocs hook: the two reference pages generated at build time from the code, so they cannot drift.

- ``<!-- octotp:openapi -->`` becomes the API reference, rendered from the canonical OpenAPI
  document (``octotp_core.http.openapi_document()``) by essentials-openapi, the renderer behind
  neoteroi-mkdocs' OAD plugin. Nothing is fetched: the document is built in this process.
- ``<!-- octotp:settings -->`` becomes a table of every field of ``octotp_core.settings.Settings``:
  its environment variable, type, default, constraints and docstring.

A marker that appears on no page, or a page that keeps one, fails the build (``--strict`` or not).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from openapidocs.mk.v3 import OpenAPIV3DocumentationHandler
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from octotp_core.http import openapi_document
from octotp_core.settings import Settings

OPENAPI_MARKER = "<!-- octotp:openapi -->"
SETTINGS_MARKER = "<!-- octotp:settings -->"
_MARKERS = (OPENAPI_MARKER, SETTINGS_MARKER)
_seen: set[str] = set()


def on_pre_build(config: Any) -> None:
    """Start each build (``mkdocs serve`` rebuilds) with no marker seen."""
    _seen.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the markers on the page with the generated Markdown."""
    if OPENAPI_MARKER in markdown:
        _seen.add(OPENAPI_MARKER)
        markdown = markdown.replace(OPENAPI_MARKER, api_reference())
    if SETTINGS_MARKER in markdown:
        _seen.add(SETTINGS_MARKER)
        markdown = markdown.replace(SETTINGS_MARKER, settings_reference())
    return markdown


def on_post_build(config: Any) -> None:
    """Fail when a generated page went missing (its marker is on no page)."""
    missing = [marker for marker in _MARKERS if marker not in _seen]
    if missing:
        raise PluginError(f"no page has the marker(s) {', '.join(missing)}: a generated reference page is missing")


# -- the API reference ---------------------------------------------------------------------------
_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def api_reference() -> str:
    """The OpenAPI document as Markdown (pymdownx tabs and details), headings one level down so the
    page keeps its own title."""
    rendered = OpenAPIV3DocumentationHandler(openapi_document(), style="MKDOCS").write()
    rendered = re.sub(r"<!--.*?-->", "", rendered, count=1, flags=re.DOTALL)  # the generator's banner
    return _HEADING.sub(lambda m: "#" + m.group(1) + " ", rendered)


# -- the settings reference ----------------------------------------------------------------------
def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The attribute docstrings of ``model`` (the string literal right after a field), by field name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    definition = tree.body[0]
    assert isinstance(definition, ast.ClassDef)
    body = definition.body
    found: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(arg) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, Path):  # data_dir: shown as the rule, not as this machine's home directory
        home = str(Path.home())
        text = str(value)
        return f"`{'~' + text[len(home) :] if text.startswith(home) else text}`"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, (dict, list)):
        plain = json.loads(json.dumps(value, default=lambda v: v.model_dump() if isinstance(v, BaseModel) else str(v)))
        return f"`{json.dumps(plain)}`"
    return f"`{json.dumps(value) if isinstance(value, str) else value}`"


_BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def _constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for name, symbol in _BOUNDS.items():
            bound = getattr(item, name, None)
            if bound is not None:
                parts.append(f"{symbol} {bound}")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split())


def settings_reference() -> str:
    """A Markdown table of every ``Settings`` field: name and environment variable, type, default,
    and its docstring with the bounds pydantic enforces."""
    docs = field_docstrings(Settings)
    prefix = Settings.model_config.get("env_prefix", "")
    rows = ["| setting | type | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        bounds = _constraints(field)
        meaning = " ".join(part for part in (_cell(docs.get(name, "")), f"({bounds})" if bounds else "") if part)
        rows.append(
            f'| <span id="{name}">`{name}`</span><br>`{prefix}{name.upper()}` | `{_type_name(field.annotation)}` '
            f"| {_cell(_default(field))} | {meaning} |"
        )
    # md_in_html: the wrapper gives the table a class for docs/assets/reference.css
    return '<div class="settings-table" markdown>\n\n' + "\n".join(rows) + "\n\n</div>\n"
