import pytest

from hoirecon.experiments.registry import EXPERIMENTS, Experiment, get_experiment
from hoirecon.experiments.variants import PRIOR_VARIANTS, Arm


def test_every_row_has_its_references_on_the_same_evidence() -> None:
    for exp in EXPERIMENTS.values():
        for arm in exp.arms:
            for ref in exp.references:
                other = exp.reference_of(arm, ref)
                assert other.preset == ref and other.data == arm.data and other.is_plain


def test_published_rows_name_rows_of_their_experiment() -> None:
    for exp in EXPERIMENTS.values():
        names = {a.name for a in exp.arms}
        for table in exp.published:
            assert all(ours in names for _, ours, _ in table.rows)
            assert all(len(values) == len(table.columns) for _, _, values in table.rows)


def test_the_experiments_cover_the_issue_rows() -> None:
    assert {a.prior for a in get_experiment("supervision").arms if a.preset == "prior"} == set(PRIOR_VARIANTS)
    assert {a.preset for a in get_experiment("losses").arms} >= {"none", "contact", "prior", "prior+contact", "phosa"}
    assert get_experiment("evidence").data_variants == ("labels", "estimated")


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown experiment"):
        get_experiment("table9")
    with pytest.raises(ValueError, match="duplicate"):
        Experiment("x", "x", (Arm("none", "none"), Arm("none", "none"), Arm("phosa", "phosa")))
    with pytest.raises(ValueError, match="no plain 'phosa' row"):
        Experiment("x", "x", (Arm("none", "none"),))
    with pytest.raises(ValueError, match="unknown rows"):
        Experiment("x", "x", (Arm("none", "none"), Arm("phosa", "phosa")), contrasts=(("none", "prior"),))
