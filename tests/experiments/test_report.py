from pathlib import Path
from types import ModuleType

from hoirecon.experiments.collect import collect
from hoirecon.experiments.registry import get_experiment
from hoirecon.experiments.report import build_document, findings, metric_table, row_statistics, write_report


def test_report_files_carry_tables_failures_command_and_versions(small_run: Path, efx: ModuleType) -> None:
    found = collect(small_run, efx.SMALL, efx.CONFIG)
    path = write_report(small_run, found, {"command": "hoirecon experiment small --seeds 2"})
    text = path.read_text()
    html = (small_run / "report.html").read_text()
    for page in (text, html):
        assert "hoirecon experiment small --seeds 2" in page
        assert "ValueError: bad split" in page and "RuntimeError: boom" in page
        assert "torch" in page and "python" in page
        assert "Transl. err. (cm)" in page and "200 resamples" in page
    assert (small_run / "results.json").is_file()


def test_paired_differences_use_the_images_both_rows_scored(small_run: Path, efx: ModuleType) -> None:
    found = collect(small_run, efx.SMALL, efx.CONFIG)
    stats = row_statistics(found, "trans_err_cm")
    prior = stats["prior"]
    assert prior["summary"].n == 2 and prior["summary"].mean.value == 14.5
    assert prior["none"].n == 2 and prior["none"].mean.value == -5.5  # (4 - 10 + 25 - 30) / 2
    assert stats["none"]["none"] is None and prior["phosa"].n == 0
    rows = metric_table(found, "trans_err_cm", stats).rows
    assert rows[0][4] == "(reference)" and rows[1][5] == "100%"


def test_reading_states_whether_the_interval_excludes_zero(small_run: Path, efx: ModuleType) -> None:
    lines = findings(collect(small_run, efx.SMALL, efx.CONFIG))
    assert any(line.startswith("prior vs none:") and "smaller (the interval excludes 0)" in line for line in lines)
    assert any(line.startswith("prior vs phosa:") and "not measured" in line for line in lines)


def test_published_rows_are_a_separate_marked_block(tmp_path: Path, efx: ModuleType) -> None:
    losses = get_experiment("losses")
    rows = {a.name: efx.arm_record({"a": 5.0}) for a in losses.arms}
    efx.write_unit(tmp_path, 0, rows, losses)
    doc = build_document(collect(tmp_path, losses, efx.CONFIG), {"command": "x"})
    published = [b for b in doc.blocks if getattr(b, "css", "") == "published"]
    assert len(published) == 1
    assert published[0].rows[0][:5] == ("no prior, no contact", "3.57", "1259.57", "7.12", "658.16")
    assert published[0].rows[0][5] == "none"
