"""The options mechanism on small configs: names, types, help, defaults, and the way back to the config."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import typer
from typer.testing import CliRunner

from hoirecon.cli.options import ConfigArgs, ConfigOptions, field_docs, show_value

runner = CliRunner()


@dataclass(frozen=True)
class Inner:
    """A nested config whose two fields are checked together."""

    depth: int = 8
    """Number of [actnorm, coupling] steps."""
    kind: str = "affine"
    """Coupling map."""
    clip: float | None = None
    """Clip the gradient
    norm (None: no clipping)."""
    lower: int = 0
    upper: int = 10

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise ValueError(f"lower {self.lower} above upper {self.upper}")


@dataclass(frozen=True)
class Outer:
    """A top config."""

    names: tuple[str, ...] = ("a", "b")
    """Names to use."""
    pair: tuple[float, float] = (-1.0, 2.0)
    """A range."""
    inner: Inner = field(default_factory=Inner)
    """The nested one."""
    flag: bool = True
    """A switch."""
    max_distance: float | None = 0.2
    """Drop further neighbours; None keeps all."""
    label: str | Inner = "plain"
    """A name or an object."""


@dataclass(frozen=True)
class Derived(Outer):
    """A subclass adds a field."""

    extra: int = 1
    """Added by the subclass."""


@dataclass(frozen=True)
class Twin:
    """Two nested configs of one class."""

    first: Inner = field(default_factory=Inner)
    """One."""
    second: Inner = field(default_factory=Inner)
    """The other."""


@dataclass(frozen=True)
class Unsupported:
    """A field that cannot be an option."""

    table: dict = field(default_factory=dict)
    """A mapping."""


ALL = ("names", "pair", "inner.depth", "inner.kind", "inner.clip", "inner.lower", "inner.upper", "flag",
       "max_distance", "label")


def _options(**kwargs: object) -> ConfigOptions[Outer]:
    settings = {"prefixes": {"inner": "in"}, "choices": {"names": ("a", "b", "c"), "inner.kind": ("affine", "additive")}}
    return ConfigOptions(Outer(), ALL, **{**settings, **kwargs})


def _app(options: ConfigOptions, seen: list) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @options.command
    def run(args: ConfigArgs[Outer], out: str = typer.Option("o", "--out", help="Not a config field.")) -> None:
        """Build the config."""
        seen.append((args, args.build(), out))

    return app


def _plain(text: str) -> str:
    """Help text without the panel borders, whitespace collapsed (wrapped lines join up)."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def test_field_docs_reads_the_string_under_each_field() -> None:
    assert field_docs(Inner) == {"depth": "Number of [actnorm, coupling] steps.", "kind": "Coupling map.",
                                 "clip": "Clip the gradient norm (None: no clipping)."}
    docs = field_docs(Derived)
    assert docs["extra"] == "Added by the subclass." and docs["names"] == "Names to use."


def test_option_names_follow_field_names_and_prefixes() -> None:
    flags = {f.path: f.flag for f in _options().fields}
    assert flags == {"names": "--names", "pair": "--pair", "inner.depth": "--in-depth", "inner.kind": "--in-kind",
                     "inner.clip": "--in-clip", "inner.lower": "--in-lower", "inner.upper": "--in-upper",
                     "flag": "--flag", "max_distance": "--max-distance", "label": "--label"}
    assert ConfigOptions(Outer(), ["inner.depth"]).fields[0].flag == "--inner-depth"  # default prefix: the field name


def test_help_shows_every_docstring_and_default() -> None:
    result = runner.invoke(_app(_options(), []), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = _plain(result.output)
    for shown in ("--in-depth <int> Number of [actnorm, coupling] steps. [default: 8]",
                  "--in-kind affine|additive Coupling map. [default: affine]",
                  "--in-clip FLOAT|none Clip the gradient norm (None: no clipping).",
                  "--names STR,... Names to use. Comma-separated, from: a, b, c. [default: a,b]",
                  "--pair FLOAT,FLOAT A range. [default: -1,2]",
                  "--max-distance FLOAT|none Drop further neighbours; None keeps all. [default: 0.2]",
                  "--label <str> A name or an object. [default: plain]",
                  "--flag --no-flag <bool> A switch."):
        assert shown in text, shown
    assert "Outer" in text and "Inner" in text  # one help panel per config class
    assert "--in-clip FLOAT|none Clip the gradient norm (None: no clipping). [default" not in text


def test_every_parsed_value_reaches_the_config() -> None:
    seen: list = []
    args = ["--names", "c,a", "--pair", "-3,4.5", "--in-depth", "3", "--in-kind", "additive", "--in-clip", "1.5",
            "--in-lower", "20", "--in-upper", "30", "--no-flag", "--max-distance", "none", "--label", "fancy",
            "--out", "x"]
    result = runner.invoke(_app(_options(), seen), args)
    assert result.exit_code == 0, result.output
    parsed, config, out = seen[0]
    assert config == Outer(names=("c", "a"), pair=(-3.0, 4.5), inner=Inner(3, "additive", 1.5, 20, 30), flag=False,
                           max_distance=None, label="fancy")
    assert out == "x" and set(parsed.given) == set(ALL)


def test_options_left_out_keep_the_base_the_command_builds_on() -> None:
    seen: list = []
    result = runner.invoke(_app(_options(), seen), ["--in-depth", "5"])
    assert result.exit_code == 0, result.output
    parsed = seen[0][0]
    assert parsed.given == {"inner.depth": 5} and seen[0][1] == Outer(inner=Inner(depth=5))
    preset = Outer(flag=False, inner=Inner(kind="additive", depth=2))
    assert parsed.build(preset) == Outer(flag=False, inner=Inner(kind="additive", depth=5))
    # a value equal to the default still counts when it is written out
    seen.clear()
    runner.invoke(_app(_options(), seen), ["--in-depth", "8", "--flag"])
    assert seen[0][0].build(preset) == Outer(flag=True, inner=Inner(kind="additive", depth=8))


def test_bad_values_are_usage_errors_naming_the_option() -> None:
    app = _app(_options(), [])
    for args, message in ((["--names", "a,z"], "'z' is not one of a, b, c"),
                          (["--in-kind", "spline"], "'spline' is not one of affine, additive"),
                          (["--pair", "1"], "expected 2 comma-separated values"),
                          (["--max-distance", "far"], "'far' is not a valid float")):
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert message in _plain(result.output) and args[0] in result.output


def test_nested_config_is_replaced_once_with_all_its_values() -> None:
    options = _options()
    assert options.build({"inner.lower": 20, "inner.upper": 30}).inner == Inner(lower=20, upper=30)
    with pytest.raises(ValueError, match="lower 20 above upper 10"):
        options.build({"inner.lower": 20})


def test_variants_list_their_values_where_they_differ() -> None:
    variants = {"fast": Outer(inner=Inner(depth=2)), "slow": Outer(inner=Inner(depth=16))}
    options = _options(variants=variants, variants_title="--preset")
    helps = {f.path: options.help(f) for f in options.fields}
    assert helps["inner.depth"].endswith("(--preset fast: 2, slow: 16)")
    assert "--preset" not in helps["inner.kind"]


def test_show_value_writes_values_as_typed() -> None:
    assert [show_value(v) for v in (None, ("a", "b"), 1e-4, 3, "x")] == ["none", "a,b", "0.0001", "3", "x"]


def test_misconfigured_options_fail_when_built() -> None:
    with pytest.raises(ValueError, match="no field 'dept'"):
        ConfigOptions(Outer(), ["inner.dept"])
    with pytest.raises(ValueError, match="'flag' is not a nested config"):
        ConfigOptions(Outer(), ["flag.x"])
    with pytest.raises(TypeError, match="Unsupported.table"):
        ConfigOptions(Unsupported(), ["table"])
    with pytest.raises(ValueError, match="not exposed"):
        ConfigOptions(Outer(), ["flag"], choices={"names": ("a",)})
    with pytest.raises(ValueError, match="duplicate option names"):
        ConfigOptions(Twin(), ["first.depth", "second.depth"], prefixes={"first": "x", "second": "x"})
    with pytest.raises(TypeError, match="one ConfigArgs parameter"):
        _options().command(lambda out="o": None)


def test_command_parameters_may_not_shadow_options() -> None:
    def run(args: ConfigArgs[Outer], flag: bool = False) -> None:
        """Clashes with the config's flag."""

    with pytest.raises(TypeError, match="clash"):
        _options().command(run)
