from hoirecon.eval.report import PUBLISHED
from hoirecon.experiments.published import TABLE_2, TABLE_3, TABLE_4


def test_rows_have_one_value_per_column() -> None:
    for table in (TABLE_2, TABLE_3, TABLE_4):
        assert all(len(values) == len(table.columns) for _, _, values in table.rows)
        assert len({ours for _, ours, _ in table.rows}) == len(table.rows)


def test_table_3_agrees_with_the_evaluation_reports_copy() -> None:
    ours = dict(PUBLISHED["wildhoi"])
    keys = [k for k, _ in TABLE_3.columns]
    assert TABLE_3.rows[0][2] == tuple(ours["PHOSA"][k] for k in keys)
    assert TABLE_3.rows[1][2] == tuple(ours["paper"][k] for k in keys)


def test_table_4_full_row_is_table_3s_row_and_orders_as_the_paper_says() -> None:
    rows = {ours: values for _, ours, values in TABLE_4.rows}
    assert rows["prior+contact"] == TABLE_3.rows[1][2]
    transl = [rows[r][3] for r in ("none", "contact", "prior", "prior+contact")]
    assert transl == sorted(transl, reverse=True)  # 658 > 196 > 14.3 > 13.1 cm (SPEC section 3)
    assert round(transl[0]) == 658 and round(transl[1]) == 196


def test_table_2_supervision_rows_get_worse_from_3d_to_knn() -> None:
    objects = [values[1] for _, _, values in TABLE_2.rows]
    assert [ours for _, ours, _ in TABLE_2.rows] == ["3d", "2d-gt-groups", "2d-knn"]
    assert objects == sorted(objects)
