"""Reports: CSV / Markdown / JSON files, and comparisons with and without published rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from hoirecon.eval.protocols import FrameTable, MetricSpec, ProtocolResult, evaluate_wildhoi
from hoirecon.eval.report import (
    PUBLISHED_SOURCE,
    compare,
    read_summary,
    write_report,
)


def _result(protocol: str, method: str, values: tuple[float, ...]) -> ProtocolResult:
    keys = {"wildhoi": ["smpl_cd_cm", "object_cd_cm", "rot_err_deg", "trans_err_cm"],
            "rhobin-human": ["mpjpe_mm"]}[protocol]
    metrics = tuple(MetricSpec(k, k.upper()) for k in keys)
    table = FrameTable(["g", "g", "h"], ["a", "b", "c"], ["ok", "missing", "ok"],
                       {k: np.array([v, np.nan, v]) for k, v in zip(keys, values)})
    return ProtocolResult(protocol, method, metrics, dict(zip(keys, values)), table,
                          {"g": dict(zip(keys, values))}, {"evaluated": 3}, {}, ["a note"])


def test_report_files_are_written(tmp_path: Path, fit_case: dict) -> None:
    result = evaluate_wildhoi(fit_case["data"], fit_case["fits"], samples=300)
    files = write_report(result, tmp_path / "report")
    rows = list(csv.DictReader(files.per_frame_csv.open()))
    assert len(rows) == 4 and rows[0]["status"] == "ok"
    assert float(rows[0]["smpl_cd_cm"]) == pytest.approx(result.table.values["smpl_cd_cm"][0])
    assert set(rows[0]) == {"group", "frame", "status", "smpl_cd_cm", "object_cd_cm",
                            "rot_err_deg", "trans_err_cm"}
    md = files.summary_md.read_text()
    assert "| tiny |" in md and "SMPL CD (cm)" in md and "skateboard" in md
    assert "300 surface samples per mesh, drawn independently" in md and "seed 0" in md
    data = json.loads(files.summary_json.read_text())
    assert data["protocol"] == "wildhoi" and data["method"] == "tiny"
    assert data["summary"]["trans_err_cm"] == 0.0 and data["counts"]["scored"] == 4
    assert not list((tmp_path / "report").glob(".*tmp"))  # no temp files left behind


def test_missing_values_are_blank_in_csv_and_null_in_json(tmp_path: Path) -> None:
    result = _result("wildhoi", "m", (1.0, 2.0, 3.0, float("inf")))
    files = write_report(result, tmp_path)
    rows = list(csv.DictReader(files.per_frame_csv.open()))
    assert rows[1]["status"] == "missing" and rows[1]["smpl_cd_cm"] == ""
    data = json.loads(files.summary_json.read_text())
    assert data["summary"]["trans_err_cm"] == "inf"
    assert read_summary(tmp_path)["method"] == "m"


def test_compare_lists_methods_and_published_rows_on_request(tmp_path: Path) -> None:
    write_report(_result("wildhoi", "ours-a", (4.0, 20.0, 9.0, 12.0)), tmp_path / "a")
    write_report(_result("wildhoi", "ours-b", (5.0, 30.0, 8.0, 14.0)), tmp_path / "b")
    write_report(_result("rhobin-human", "h", (80.0,)), tmp_path / "c")
    with_pub = compare([tmp_path / "a", tmp_path / "b", tmp_path / "c"], published=True)
    methods = [(r.method, r.source) for r in with_pub.rows["wildhoi"]]
    assert methods[:2] == [("ours-a", "ours"), ("ours-b", "ours")]
    assert ("PHOSA", PUBLISHED_SOURCE) in methods and ("paper", PUBLISHED_SOURCE) in methods
    assert [r.method for r in with_pub.rows["rhobin-human"]] == ["h"]
    text = with_pub.to_markdown()
    assert "published (different data)" in text and "50.08" in text and "13.13" in text
    without = compare([tmp_path / "a", tmp_path / "b"], published=False)
    assert [r.method for r in without.rows["wildhoi"]] == ["ours-a", "ours-b"]
    assert "published" not in without.to_markdown() and "50.08" not in without.to_markdown()


def test_compare_behave_gets_its_published_rows(tmp_path: Path) -> None:
    result = _result("wildhoi", "x", (1.0, 2.0, 3.0, 4.0))
    result.protocol = "behave"
    write_report(result, tmp_path / "x")
    names = [r.method for r in compare([tmp_path / "x"]).rows["behave"]]
    assert names == ["x", "CHORE", "StackFLOW", "PHOSA", "paper"]
    assert "26.90" in compare([tmp_path / "x"]).to_markdown()


def test_compare_names_a_bad_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="summary.json"):
        compare([tmp_path])
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        compare([tmp_path])
