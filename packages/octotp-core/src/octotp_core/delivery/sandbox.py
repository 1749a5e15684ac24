"""The Jinja2 sandbox every message template renders in, and the rules a project's own template keeps.

Two environments, both ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: one for plain
text (subject, text body, SMS) and one that autoescapes (the HTML body). Neither has globals
(``range``, ``lipsum``, ``cycler``...), no tests (``is defined``...), and no filters beyond a short list that cannot
make a message large or reach an object (``upper``, ``lower``, ``title``, ``capitalize``, ``trim``,
``truncate``, ``replace``, ``default``, ``escape``, ``string``). Arithmetic works on small whole
numbers only (``minutes % 10`` for a plural), so no ``"x" * 10**9``.

A template a project writes is checked before it is compiled (``check_source``): it may print its
variables (``code``, ``minutes``, ``project``), use ``{% if %}``, compare, join with ``~`` and use the
filters above, and nothing else: no attribute or item access, no calls, no ``{% for %}``,
``{% set %}``, ``{% macro %}``, ``{% include %}``/``{% import %}``/``{% extends %}``. The sandbox is
the second wall: what the check lets through still cannot read an attribute Jinja's sandbox refuses.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, Literal

from jinja2 import PackageLoader, StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: The only names a message template can use.
VARIABLES = ("code", "minutes", "project")

#: Filters a message template may use: none can grow a message beyond a multiple of its own text.
FILTERS = (
    "capitalize",
    "default",
    "d",
    "e",
    "escape",
    "lower",
    "replace",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
)

_BINOPS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.FloorDiv: "//", nodes.Mod: "%"}
_SMALL = 10**6

Kind = Literal["text", "html"]

# What each refused node is called in an error message.
_TAGS: dict[type[nodes.Node], str] = {
    nodes.For: "{% for %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.With: "{% with %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.Block: "{% block %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Scope: "{% autoescape %}",  # the node {% autoescape %} wraps its modifier in
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
}
_ALLOWED: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Filter,
    nodes.Keyword,
    nodes.Neg,
    nodes.Pos,
    # Arithmetic: MessageSandbox.call_binop allows it on small whole numbers only.
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.FloorDiv,
    nodes.Mod,
)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """A sandboxed environment with no globals, only ``FILTERS`` and whole-number arithmetic."""

    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            loader=PackageLoader("octotp_core.delivery", "templates"),
            autoescape=html,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.globals.clear()
        self.tests.clear()
        self.filters = {name: self.filters[name] for name in FILTERS}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``+ - * // %`` on whole numbers below a million; anything else is refused."""
        if operator in ("/", "**") or not (_small_whole(left) and _small_whole(right)):
            raise SecurityError(f"message templates do arithmetic on whole numbers only ({operator})")
        return super().call_binop(context, operator, left, right)


def _small_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < _SMALL


ENVIRONMENTS: dict[Kind, MessageSandbox] = {"text": MessageSandbox(html=False), "html": MessageSandbox(html=True)}


class TemplateRefused(ValueError):
    """A project's template breaks a rule of ``check_source``; the text says which, for its author."""


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def _refusal(node: nodes.Node) -> str | None:
    """Why ``node`` may not appear in a project's template, or ``None`` when it may."""
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        return "cannot read attributes or items (such as project.name or project['x']): use code, minutes and project"
    if isinstance(node, nodes.Call):
        return "cannot call functions or methods"
    if isinstance(node, nodes.Test):
        return f"cannot use tests (is {node.name}): compare with == instead"
    if isinstance(node, nodes.Filter) and node.name not in FILTERS:
        return f"cannot use the filter {node.name} (allowed: {', '.join(FILTERS)})"
    if isinstance(node, nodes.Filter) and (node.dyn_args is not None or node.dyn_kwargs is not None):
        return "cannot pass *args or **kwargs to a filter"
    for tag_type, tag in _TAGS.items():
        if isinstance(node, tag_type):
            return f"cannot use {tag}: a message template may use {{{{ }}}}, {{% if %}} and filters"
    if not isinstance(node, _ALLOWED):
        return f"cannot use this expression ({type(node).__name__.lower()})"
    return None


def check_source(source: str, kind: Kind = "text") -> nodes.Template:
    """Parse a project's template and apply the rules; ``TemplateRefused`` says what breaks one."""
    try:
        return _checked(ENVIRONMENTS[kind].parse(source))
    except TemplateSyntaxError as exc:
        raise TemplateRefused(f"is not a valid template (line {exc.lineno}: {exc.message})") from None
    except RecursionError:  # thousands of nested brackets: Jinja's parser and the walk recurse
        raise TemplateRefused("nests too deeply") from None


def _checked(tree: nodes.Template) -> nodes.Template:
    for node in _walk(tree):
        reason = _refusal(node)
        if reason is not None:
            raise TemplateRefused(reason)
    # Every name the template reads (a name Jinja treats as special, such as self, too), then Jinja's
    # own view of what the template looks up in its context.
    names = {node.name for node in tree.find_all(nodes.Name)}
    if names - set(VARIABLES):
        raise TemplateRefused(_unknown(names))
    undeclared = meta.find_undeclared_variables(tree)
    if undeclared - set(VARIABLES):
        raise TemplateRefused(_unknown(undeclared))
    return tree


def _unknown(names: set[str]) -> str:
    unknown = ", ".join(sorted(names - set(VARIABLES)))
    return f"may only use the variables code, minutes and project (not {unknown})"


@functools.lru_cache(maxsize=256)
def compile_source(source: str, kind: Kind = "text") -> Template:
    """A project's template, checked (``check_source``) and compiled in the sandbox (cached by text)."""
    tree = check_source(source, kind)
    try:
        return ENVIRONMENTS[kind].from_string(tree)
    except RecursionError:
        raise TemplateRefused("nests too deeply") from None


def shipped(path: str) -> Template:
    """One of octotp's own templates (``<locale>/<name>``) from the package's ``templates`` folder."""
    return ENVIRONMENTS["html" if path.endswith(".html") else "text"].get_template(path)
