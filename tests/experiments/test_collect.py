from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np

from hoirecon.experiments.collect import collect
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.variants import Arm


def test_rows_are_aligned_by_image_id(small_run: Path, efx: ModuleType) -> None:
    found = collect(small_run, efx.SMALL, efx.CONFIG)
    assert found.keys == [(0, "skateboard", "a"), (0, "skateboard", "b"), (0, "skateboard", "c")]
    np.testing.assert_array_equal(found.values["none"]["trans_err_cm"], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(found.values["prior"]["trans_err_cm"], [4.0, np.nan, 25.0])
    assert np.isnan(found.values["phosa"]["trans_err_cm"]).all()


def test_failures_and_missing_units_are_listed(small_run: Path, efx: ModuleType) -> None:
    found = collect(small_run, efx.SMALL, replace(efx.CONFIG, seeds=3))
    assert found.failed_units == [("seed0001-skateboard", "ValueError: bad split")]
    assert found.failed_rows == [("seed0000-skateboard", "phosa", "RuntimeError: boom")]
    assert found.missing_units == ["seed0002-skateboard"]


def test_records_of_other_settings_count_as_missing(small_run: Path, efx: ModuleType) -> None:
    found = collect(small_run, efx.SMALL, replace(efx.CONFIG, train=7))
    assert found.units == [] and found.keys == []
    assert found.missing_units == ["seed0000-skateboard", "seed0001-skateboard"]


def test_rows_on_different_scenes_are_not_paired(tmp_path: Path, efx: ModuleType) -> None:
    exp = Experiment("two", "Two variants", (Arm("l / none", "none", data="labels"), Arm("l / phosa", "phosa", data="labels"),
                                             Arm("e / none", "none"), Arm("e / phosa", "phosa")))
    rows = {name: efx.arm_record({"a": 1.0, "b": 2.0}) for name in ("l / none", "l / phosa", "e / none", "e / phosa")}
    efx.write_unit(tmp_path, 0, rows, exp, truth={"labels": "x", "estimated": "x"})
    efx.write_unit(tmp_path, 1, rows, exp, truth={"labels": "x", "estimated": "y"})
    found = collect(tmp_path, exp, efx.CONFIG)
    a, b = found.pair("l / none", "e / none", "trans_err_cm")
    assert np.isfinite(a[:2]).all() and np.isnan(a[2:]).all() and np.isfinite(b).all()
    same, _ = found.pair("l / none", "l / phosa", "trans_err_cm")
    assert np.isfinite(same).all()
