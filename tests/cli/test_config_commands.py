"""The commands built from config dataclasses: ``--help`` lists each field's docstring and default,
every option reaches the config, and presets come from their registries."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from hoirecon.cli import data_cmds, demo_cmd, detect_cmd, fit_cmd, prior_cmds, reconstruct_cmd
from hoirecon.cli.app import app
from hoirecon.cli.options import ConfigArgs, ConfigField, ConfigOptions, show_value
from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.demo import DemoConfig
from hoirecon.fitting.optimize import PRESETS, get_preset
from hoirecon.prior import TrainConfig

runner = CliRunner()
COMMANDS = {"synth": data_cmds.SYNTH_OPTIONS, "group": prior_cmds.GROUP_OPTIONS, "train": prior_cmds.TRAIN_OPTIONS,
            "fit": fit_cmd.FIT_OPTIONS, "reconstruct": reconstruct_cmd.IMAGE_OPTIONS,
            "fit-image": reconstruct_cmd.IMAGE_OPTIONS, "detect": detect_cmd.DETECT_OPTIONS,
            "demo": demo_cmd.DEMO_OPTIONS}


def _plain(text: str) -> str:
    """Help text without the panel borders, whitespace collapsed (wrapped lines join up)."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def _help(command: str) -> str:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return _plain(result.output)


def _entries(text: str, fields: tuple[ConfigField, ...]) -> dict[str, str]:
    """Each option's help entry: the text from its name to the next option's name."""
    starts = {f.path: re.search(rf"(?<![\w-]){re.escape(f.flag)}(?![\w-])", text).start() for f in fields}
    ends = sorted(starts.values())[1:] + [len(text)]
    order = sorted(starts, key=starts.get)
    return {path: text[starts[path]:end] for path, end in zip(order, ends)}


def _shown_default(f: ConfigField) -> tuple[str, ...]:
    """How typer writes the field's default."""
    if f.kind is bool:
        return (f.flag[2:] if f.default else "no-" + f.flag[2:], str(f.default))
    return (show_value(f.default) if f.length is not None else str(f.default),)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_each_field_with_its_docstring_and_default(command: str) -> None:
    options = COMMANDS[command]
    entries = _entries(_help(command), options.fields)
    for f in options.fields:
        assert f.doc, f"{f.owner.__name__}.{f.path.split('.')[-1]} has no docstring"
        entry = entries[f.path]
        assert f.doc in entry, (f.path, entry)
        if f.default is None:
            assert "[default:" not in entry, entry
        else:
            assert any(f"[default: {shown}]" in entry for shown in _shown_default(f)), (f.path, entry)


def _other_value(f: ConfigField) -> tuple[list[str], object]:
    """Command-line words setting ``f`` to a value other than its default, and that value."""
    if f.kind is bool:
        return [f.flag if not f.default else "--no-" + f.flag[2:]], not f.default
    if f.choices is not None:
        other = next(c for c in reversed(list(f.choices)) if (c,) != f.default and c != f.default)
        value = (other,) if f.length is not None else other
    elif f.length is not None:
        value = tuple(v + 1.0 for v in f.default)
    elif f.default is None:
        value = {int: 3, float: 0.5, str: "elsewhere"}[f.kind]
    elif f.optional:
        value = None
    elif f.kind is float:
        value = f.default / 2 if f.default else 0.5
    else:
        value = f.default + 1 if f.kind is int else f.default + "x"
    return [f.flag, show_value(value) if isinstance(value, tuple) or value is None else repr(value).strip("'")], value


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_reaches_the_config(command: str) -> None:
    options: ConfigOptions = COMMANDS[command]
    built = []
    probe = typer.Typer()

    @probe.command()
    @options.command
    def run(args: ConfigArgs) -> None:
        built.append(args.build())

    words, expected = [], {}
    for f in options.fields:
        flag_words, expected[f.path] = _other_value(f)
        words += flag_words
    result = runner.invoke(probe, words)
    assert result.exit_code == 0, result.output
    for path, value in expected.items():
        got = built[0]
        for name in path.split("."):
            got = getattr(got, name)
        assert got == value, path


def test_fit_presets_come_from_the_registry() -> None:
    text = _help("fit")
    assert "|".join(PRESETS) in text
    values = ", ".join(f"{name}: {show_value(c.weights.contact)}" for name, c in PRESETS.items())
    assert f"(--preset {values})" in text
    image = _help("fit-image")
    assert "|".join(PRESETS) in image  # one photo takes contact presets too (maps from the prior file)
    bad = runner.invoke(app, ["fit", "--data", ".", "--category", "x", "--out", ".", "--preset", "best"],
                        env={"COLUMNS": "250"})
    assert bad.exit_code == 2 and ", ".join(PRESETS) in _plain(bad.output)
    assert "|".join(OBSERVATION_PRESETS) in _help("synth")


def test_fit_overrides_the_chosen_preset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = []

    def fake_fit_dataset(data, category, split, config, *args, **kwargs):  # noqa: ANN001, ANN202
        seen.append(config)
        return SimpleNamespace(results=SimpleNamespace(image_ids=[]), skipped=[], provenance=[])

    monkeypatch.setattr(fit_cmd, "fit_dataset", fake_fit_dataset)
    result = runner.invoke(app, ["fit", "--data", str(tmp_path), "--category", "basketball", "--out", str(tmp_path),
                                 "--preset", "contact", "--weight-prior", "0.25", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    preset = get_preset("contact")
    assert seen == [replace(preset, batch_size=3, weights=replace(preset.weights, prior=0.25))]


def test_demo_quick_is_the_base_of_the_options_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = []

    def fake_run_demo(out, config, fresh, status):  # noqa: ANN001, ANN202
        seen.append(config)
        status("synth")
        (Path(out) / "results.md").write_text("| table |")
        return SimpleNamespace(out=Path(out))

    monkeypatch.setattr(demo_cmd, "run_demo", fake_run_demo)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--quick", "--train", "5", "--presets", "none"])
    assert result.exit_code == 0, result.output
    assert seen == [replace(DemoConfig().quick(), train=5, presets=("none",))]


class _Grouping:
    valid = np.ones(4, dtype=bool)
    stats = {"method": "exact"}

    def __len__(self) -> int:
        return 4


def test_train_and_group_pass_their_configs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = {}

    def fake_group(data, category, config, out, chunk_size, reject_adjacent, device):  # noqa: ANN001, ANN202
        seen["group"] = config
        seen["reject_adjacent"] = reject_adjacent
        seen["device"] = device
        return _Grouping(), None

    def fake_train(data, category, out, config, callback, **kwargs):  # noqa: ANN001, ANN202
        seen["train"] = config
        return None  # what a rank other than 0 returns: nothing to report

    monkeypatch.setattr(prior_cmds, "group_category", fake_group)
    monkeypatch.setattr(prior_cmds, "score_category", lambda data, category, grouping: None)
    monkeypatch.setattr(prior_cmds, "train_category", fake_train)
    common = ["--data", str(tmp_path), "--category", "basketball"]
    result = runner.invoke(app, ["group", *common, "--k", "4", "--max-distance", "none"])
    assert result.exit_code == 0, result.output
    assert seen["group"] == replace(prior_cmds.GROUP_OPTIONS.base, k=4, max_distance=None)
    assert seen["reject_adjacent"] is True and seen["device"] == torch.device("cpu")  # HOIRECON_DEVICE of the suite
    result = runner.invoke(app, ["train", *common, "--out", str(tmp_path / "p.pt"), "--flow-depth", "2",
                                 "--encoder-name", "none", "--grouping-k", "3"])
    assert result.exit_code == 0, result.output
    base = TrainConfig()
    assert seen["train"] == replace(base, flow=replace(base.flow, depth=2), encoder=replace(base.encoder, name="none"),
                                    grouping=replace(base.grouping, k=3))


def test_fit_leaves_the_batch_size_to_the_device_and_compiles_on_request(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    seen = []

    def fake_fit_dataset(data, category, split, config, *args, **kwargs):  # noqa: ANN001, ANN202
        seen.append(config)
        return SimpleNamespace(results=SimpleNamespace(image_ids=[]), skipped=[], provenance=[])

    monkeypatch.setattr(fit_cmd, "fit_dataset", fake_fit_dataset)
    base = ["fit", "--data", str(tmp_path), "--category", "basketball", "--out", str(tmp_path), "--preset", "contact"]
    for extra in ([], ["--compile", "--batch-size", "none"], ["--batch-size", "0"]):
        result = runner.invoke(app, base + extra)
        assert result.exit_code == (2 if "0" in extra else 0), result.output
    assert seen == [get_preset("contact"), get_preset("contact", compile=True)]
    assert seen[0].batch_size is None
