"""The annotation file: round trip, continuing a file, and records made for another template."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hoirecon.collect.annotations import (
    AnnotationError,
    ImageAnnotation,
    empty_annotations,
    image_annotation,
    load_or_create,
    read_annotations,
    record,
    write_annotations,
)

NAMES = ["a", "b", "c", "d"]


def _doc() -> dict:
    doc = empty_annotations("skateboard", NAMES)
    doc["images"]["img1"] = record(ImageAnnotation(np.array([[1.0, 2, 2], [3, 4, 1], [0, 0, 0], [5, 6, 2]]),
                                                   np.array([0.0, 0, 10, 10]), True, True), "skateboard")
    return doc


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = write_annotations(tmp_path / "a.json", _doc())
    note = image_annotation(read_annotations(path), "img1", "skateboard", NAMES)
    assert note.placed.tolist() == [True, True, False, True]
    assert note.box.tolist() == [0, 0, 10, 10] and note.swap_left_right and note.done
    assert image_annotation(read_annotations(path), "other", "skateboard", NAMES) is None


def test_existing_file_is_continued_and_another_category_refused(tmp_path: Path) -> None:
    path = write_annotations(tmp_path / "a.json", _doc())
    assert "img1" in load_or_create(path, "skateboard", NAMES)["images"]
    assert load_or_create(tmp_path / "new.json", "skateboard", NAMES)["images"] == {}
    with pytest.raises(AnnotationError, match="'skateboard', not 'cello'"):
        load_or_create(path, "cello", NAMES)


def test_record_for_another_template_names_the_image() -> None:
    doc = _doc()
    doc["images"]["img1"]["category"] = "violin"
    with pytest.raises(AnnotationError, match="img1.*'violin'"):
        image_annotation(doc, "img1", "skateboard", NAMES)
    with pytest.raises(AnnotationError, match="with 4 keypoints, not 'skateboard' with 5"):
        image_annotation(_doc(), "img1", "skateboard", NAMES + ["e"])


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(keypoints=[[1, 2, 2]]), "keypoints"),
    (lambda r: r["keypoints"][0].__setitem__(2, 7), "state 0, 1 or 2"),
    (lambda r: r["keypoints"][0].__setitem__(0, float("nan")), "finite"),
    (lambda r: r.update(box=[5, 5, 1, 1]), "box"),
])
def test_malformed_records_raise_naming_the_field(change, field: str) -> None:
    doc = _doc()
    change(doc["images"]["img1"])
    with pytest.raises(AnnotationError, match=field):
        image_annotation(doc, "img1", "skateboard", NAMES)


def test_files_that_are_not_annotations_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"images": {}}))
    with pytest.raises(AnnotationError, match="format"):
        read_annotations(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{")
    with pytest.raises(AnnotationError, match="y.json"):
        read_annotations(tmp_path / "y.json")
    with pytest.raises(AnnotationError, match="not found"):
        read_annotations(tmp_path / "z.json")
