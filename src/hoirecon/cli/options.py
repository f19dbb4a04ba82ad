"""Command-line options made from config dataclasses.

A config field is written once, in its dataclass: name, type, default and the docstring under it.
:class:`ConfigOptions` turns the fields a command exposes into typer options (``--field-name``;
``--prefix-field-name`` for a field of a nested config) whose help is that docstring, and
:meth:`ConfigOptions.command` gives the command function a signature with one parameter per
option, since typer builds a command from its function's signature. The command receives a
:class:`ConfigArgs` and builds its config from the values given on the command line.

Field docstrings are read from the class source with :mod:`ast`: Python keeps no runtime record
of a string that follows an assignment.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Generic, TypeVar

import typer
from rich.markup import escape

C = TypeVar("C")
R = TypeVar("R")
_CONTEXT = "_config_context"
_SCALARS = (bool, int, float, str)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of dataclass ``cls`` and of its dataclass bases, by field name.

    Whitespace is collapsed to single spaces; fields without a docstring are left out.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if is_dataclass(klass):
            docs.update(_own_field_docs(klass))
    return docs


def _own_field_docs(cls: type) -> dict[str, str]:
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def show_value(value: object) -> str:
    """A field value as it is written on the command line (``none``, comma-separated tuples)."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(show_value(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_choice(value: object, choices: Collection[str]) -> None:
    """Raise ``typer.BadParameter`` naming the allowed values unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")


def choice_option(default: str, choices: Collection[str], help: str, *flags: str) -> Any:  # noqa: A002 - typer's name
    """A typer option taking one of ``choices`` (a registry: read when parsing, listed in ``--help``)."""
    def parse(text: str) -> str:
        check_choice(text, choices)
        return text

    return typer.Option(default, *flags, help=escape(help), metavar="|".join(choices), parser=parse)


@dataclass(frozen=True)
class Bound:
    """The range of a numeric option (of each value, for tuples)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """``low`` itself is excluded (a learning rate > 0)."""
    high_open: bool = False
    """``high`` itself is excluded (a fraction < 1)."""

    @property
    def closed(self) -> bool:
        """Both ends included, as typer's ``min=``/``max=`` check them."""
        return not self.low_open and not self.high_open

    def text(self) -> str:
        """``x>=1``, ``x>0``, ``0<=x<1``: how ``--help`` shows the range (as typer does)."""
        low = "" if self.low is None else f"{show_value(self.low)}{'<' if self.low_open else '<='}"
        high = "" if self.high is None else f"{'<' if self.high_open else '<='}{show_value(self.high)}"
        if self.low is not None and self.high is None:
            return f"x{'>' if self.low_open else '>='}{show_value(self.low)}"
        return f"{low}x{high}"

    def check(self, value: float) -> None:
        """``typer.BadParameter`` naming the range unless ``value`` is inside it."""
        too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if too_low or too_high or value != value:  # NaN is in no range
            raise typer.BadParameter(f"{value!r} is not in the range {self.text()}")


AT_LEAST_0 = Bound(0)
AT_LEAST_1 = Bound(1)
POSITIVE = Bound(0, low_open=True)
FRACTION = Bound(0, 1)


@dataclass(frozen=True)
class ConfigField:
    """One field of a config, possibly nested, as a command-line option."""

    path: str
    """Dotted path from the top config, e.g. ``flow.depth``."""
    flag: str
    """Option name, e.g. ``--flow-depth``."""
    kind: type
    """Type of one value: bool, int, float or str."""
    default: Any
    """The field's value in the base config."""
    doc: str
    """The docstring under the field."""
    owner: type
    """The dataclass that declares the field."""
    optional: bool = False
    """None is a value, written ``none``."""
    length: int | None = None
    """For tuple fields, written comma-separated: the number of values (0: any number)."""
    choices: Collection[str] | None = None
    """The allowed values (a registry, read when parsing)."""
    bound: Bound | None = None
    """The range of each numeric value."""

    @property
    def param(self) -> str:
        """The command function's parameter name of the option."""
        return self.path.replace(".", "__")

    def parse(self, text: object) -> Any:
        """The field value written as ``text`` on the command line; ``typer.BadParameter`` if invalid."""
        if not isinstance(text, str):
            return text  # already a value (a default)
        if self.optional and text.strip().lower() == "none":
            return None
        if self.length is None:
            return self._one(text)
        values = tuple(self._one(t.strip()) for t in text.split(",") if t.strip())
        if not values or (self.length and len(values) != self.length):
            raise typer.BadParameter(f"expected {self.length or 'one or more'} comma-separated values, got {text!r}")
        return values

    def _one(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a valid {self.kind.__name__}") from None
        if self.choices is not None:
            check_choice(value, self.choices)
        if self.bound is not None:
            self.bound.check(value)
        return value

    def check(self, value: Any) -> Any:
        """A typed value checked against the range (the callback of options typer parses itself)."""
        if value is not None and self.bound is not None and not isinstance(value, str):
            self.bound.check(value)
        return value

    @property
    def typer_range(self) -> bool:
        """Whether typer's own ``min=``/``max=`` check the range (a plain number, closed range)."""
        return (self.bound is not None and self.bound.closed and self.length is None and not self.optional
                and self.choices is None and self.kind in (int, float))


class ConfigOptions(Generic[C]):
    """The command-line options of some fields of a config, and the way back to the config."""

    def __init__(self, base: C, paths: Sequence[str], *, prefixes: Mapping[str, str] | None = None,
                 choices: Mapping[str, Collection[str]] | None = None, notes: Mapping[str, str] | None = None,
                 variants: Mapping[str, C] | None = None, variants_title: str = "",
                 ranges: Mapping[str, Bound] | None = None) -> None:
        """Options for the fields ``paths`` of ``base``, which gives their defaults.

        A path names a field of a nested config with dots (``flow.depth``). ``prefixes`` sets the
        option prefix of a nested config (``{"weights": "weight"}`` gives ``--weight-prior``; by
        default the prefix is the field name). ``choices`` restricts a field's values to a
        registry; ``notes`` adds a sentence to a field's help. ``variants`` are other configs a
        command may build on, by label (such as named presets): the help of a field whose value
        differs between them lists every variant's value, after ``variants_title`` (e.g. ``--preset``).
        ``ranges`` gives the range of a numeric field, checked when parsing and shown in ``--help``
        (the commands give every numeric field one; ``tests/cli`` checks it).
        """
        self.base = base
        prefixes, choices, notes = dict(prefixes or {}), dict(choices or {}), dict(notes or {})
        ranges = dict(ranges or {})
        self.fields = tuple(replace(_resolve(base, path, prefixes, choices.get(path)), bound=ranges.get(path))
                            for path in paths)
        self.notes = notes
        self.variants = dict(variants or {})
        self.variants_title = variants_title
        _check_names(self.fields, paths, prefixes, choices, notes, ranges)

    def help(self, field: ConfigField) -> str:
        """The option's help: docstring, note, allowed values of a tuple, variants' values (markup escaped)."""
        text = " ".join(t for t in (field.doc, self.notes.get(field.path, "")) if t)
        if field.length is not None and field.choices is not None:
            text += f" Comma-separated, from: {', '.join(field.choices)}."
        if field.bound is not None and not field.typer_range:
            text += f" [{'each ' if field.length is not None else ''}{field.bound.text()}]"
        values = {label: _get(config, field.path) for label, config in self.variants.items()}
        if any(v != field.default for v in values.values()):
            listed = ", ".join(f"{label}: {show_value(v)}" for label, v in values.items())
            text += f" ({self.variants_title} {listed})" if self.variants_title else f" ({listed})"
        return escape(text.strip())

    def parameters(self) -> list[inspect.Parameter]:
        """One keyword-only typer option parameter per field."""
        return [inspect.Parameter(f.param, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(f),
                                  default=self._option(f)) for f in self.fields]

    def _option(self, f: ConfigField) -> Any:
        flags = (f"{f.flag}/--no-{f.flag[2:]}",) if f.kind is bool else (f.flag,)
        default = show_value(f.default) if f.length is not None and f.default is not None else f.default
        # Tuples arrive as text (typer would read a tuple annotation as several arguments) and
        # the callback turns them into values; None and registry values need a parser.
        converter = {"callback": f.parse} if f.length is not None else (
            {"parser": f.parse} if f.optional or f.choices is not None else {})
        if f.typer_range:
            converter = {"min": f.bound.low, "max": f.bound.high}
        elif f.bound is not None and not converter:
            converter = {"callback": f.check}
        return typer.Option(default, *flags, help=self.help(f), show_default=f.default is not None,
                            metavar=_metavar(f), rich_help_panel=f.owner.__name__, **converter)

    def build(self, values: Mapping[str, Any], base: C | None = None) -> C:
        """``base`` (default: the options' base) with ``values`` by dotted field path replaced.

        Each nested config is replaced once with all its new values, so its own checks see the
        final combination.
        """
        tree: dict[str, Any] = {}
        for path, value in values.items():
            *heads, name = path.split(".")
            node = tree
            for head in heads:
                node = node.setdefault(head, {})
            node[name] = value
        return _apply(self.base if base is None else base, tree)

    def command(self, func: Callable[..., R]) -> Callable[..., R]:
        """``func`` with its :class:`ConfigArgs` parameter replaced by one option per field.

        The other parameters keep their typer options; the config options follow them, in one
        help panel per config class.
        """
        signature = inspect.signature(func, eval_str=True)
        target = [p.name for p in signature.parameters.values() if _is_config_args(p.annotation)]
        if len(target) != 1:
            raise TypeError(f"{func.__name__}: expected one ConfigArgs parameter, found {len(target)}")
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()
               if p.name != target[0]]
        clash = {p.name for p in own} & {f.param for f in self.fields}
        if clash:
            raise TypeError(f"{func.__name__}: parameters {sorted(clash)} clash with config options")
        context = inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        params = [context, *own, *self.parameters()]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> R:
            ctx = kwargs.pop(_CONTEXT)
            values = {f.path: kwargs.pop(f.param) for f in self.fields}
            given = {f.path: values[f.path] for f in self.fields if _given(ctx, f.param)}
            return func(**kwargs, **{target[0]: ConfigArgs(self, given)})

        wrapper.__signature__ = inspect.Signature(params, return_annotation=signature.return_annotation)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper


@dataclass(frozen=True)
class ConfigArgs(Generic[C]):
    """What a command received for its config options: the values given on the command line."""

    options: ConfigOptions[C]
    """The options they were parsed by."""
    given: dict[str, Any]
    """The values set on the command line, by dotted field path (defaults left out)."""

    def build(self, base: C | None = None) -> C:
        """``base`` (default: the options' base) with every value given on the command line."""
        return self.options.build(self.given, base)


def _resolve(base: object, path: str, prefixes: Mapping[str, str], choices: Collection[str] | None) -> ConfigField:
    """The :class:`ConfigField` of ``path`` in ``base``."""
    *heads, name = path.split(".")
    config, parts = base, []
    for i, head in enumerate(heads):
        config = getattr(config, head, None)
        if not is_dataclass(config):
            raise ValueError(f"{type(base).__name__}: {'.'.join(heads[:i + 1])!r} is not a nested config")
        parts.append(prefixes.get(".".join(heads[:i + 1]), head))
    cls = type(config)
    if name not in {f.name for f in fields(cls)}:
        raise ValueError(f"{cls.__name__} has no field {name!r} (path {path!r})")
    kind, optional, length = _value_type(typing.get_type_hints(cls)[name], f"{cls.__name__}.{name}")
    flag = "--" + "-".join(p for p in (*parts, name) if p).replace("_", "-")
    return ConfigField(path, flag, kind, getattr(config, name), field_docs(cls).get(name, ""), cls, optional, length,
                       choices)


def _value_type(annotation: Any, where: str) -> tuple[type, bool, int | None]:
    """(type of one value, whether None is allowed, tuple length) of a field's annotation.

    Handles ``X``, ``X | None``, ``tuple[X, ...]`` and ``tuple[X, X]`` for bool, int, float and
    str; a union that includes ``str`` (a name or an object) is read as ``str``.
    """
    args = typing.get_args(annotation)
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        annotation = str if str in rest else (rest[0] if len(rest) == 1 else annotation)
        args = typing.get_args(annotation)
    length = None
    if typing.get_origin(annotation) is tuple:
        variadic = len(args) == 2 and args[1] is Ellipsis
        if not args or (not variadic and len(set(args)) != 1):
            raise TypeError(f"{where}: cannot make an option of {annotation}")
        annotation, length = args[0], 0 if variadic else len(args)
    if annotation not in _SCALARS or (annotation is bool and (length is not None or optional)):
        raise TypeError(f"{where}: cannot make an option of {annotation}")
    return annotation, optional, length


def _metavar(f: ConfigField) -> str | None:
    """How the value is written, where typer's own type name would not tell."""
    if f.choices is not None and f.length is None:
        names = list(f.choices)
    elif f.length is not None:
        one = f.kind.__name__.upper()
        names = [f"{one},..." if f.length == 0 else ",".join([one] * f.length)]
    elif f.optional:
        names = [f.kind.__name__.upper()]
    else:
        return None
    return "|".join(names + (["none"] if f.optional else []))


def _annotation(f: ConfigField) -> Any:
    if f.length is not None:
        return str | None if f.optional else str
    return f.kind | None if f.optional else f.kind


def _check_names(fields_: Sequence[ConfigField], paths: Sequence[str], *maps: Mapping[str, object]) -> None:
    """Reject duplicate option names and settings for paths (or prefixes) that are not exposed."""
    flags = [f.flag for f in fields_]
    if len(set(flags)) != len(flags):
        raise ValueError(f"duplicate option names in {flags}")
    known = set(paths) | {".".join(p.split(".")[:i]) for p in paths for i in range(1, p.count(".") + 1)}
    unknown = sorted(key for m in maps for key in m if key not in known)
    if unknown:
        raise ValueError(f"settings for fields that are not exposed: {unknown}")


def _get(config: object, path: str) -> Any:
    for name in path.split("."):
        config = getattr(config, name)
    return config


def _apply(config: C, tree: Mapping[str, Any]) -> C:
    changes = {k: _apply(getattr(config, k), v) if isinstance(v, dict) else v for k, v in tree.items()}
    return replace(config, **changes) if changes else config


def _is_config_args(annotation: Any) -> bool:
    return annotation is ConfigArgs or typing.get_origin(annotation) is ConfigArgs


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was set by the user rather than left at its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"
