"""Person keypoint files of public 2D pose detectors, written in each tool's layout and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hoirecon.data.readers.person_keypoints import PersonKeypoints, box_from_keypoints, choose_person, read_people, to_coco17


def _joints(count: int, offset: float = 0.0) -> np.ndarray:
    """(count, 3) keypoints whose values encode their index: u = 100 + i, v = 200 + i."""
    i = np.arange(count, dtype=float)
    return np.c_[100 + i + offset, 200 + i + offset, 0.5 + i / 1000]


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_coco_results_list_reads_every_person_with_its_box_and_score(tmp_path: Path) -> None:
    a, b = _joints(17), _joints(17, offset=50)
    records = [{"image_id": 7, "category_id": 1, "keypoints": a.ravel().tolist(), "score": 0.8,
                "bbox": [10, 20, 30, 40]},
               {"image_id": 7, "category_id": 1, "keypoints": b.ravel().tolist(), "score": 0.6}]
    people = read_people(_write(tmp_path / "res.json", records))
    assert [p.joint_set for p in people] == ["coco17", "coco17"]
    np.testing.assert_array_equal(people[0].keypoints, a)
    np.testing.assert_array_equal(people[0].box, [10, 20, 30, 40])
    np.testing.assert_array_equal(people[1].box, [150, 250, 16, 16])  # from the keypoints
    assert (people[0].score, people[1].score, people[0].frame, people[0].source) == (0.8, 0.6, 7, "coco-results")
    np.testing.assert_array_equal(to_coco17(people[1]).keypoints, b)


def test_coco_wholebody_records_join_their_parts_in_order(tmp_path: Path) -> None:
    joints = _joints(133)
    parts = {"keypoints": joints[:17], "foot_kpts": joints[17:23], "face_kpts": joints[23:91],
             "lefthand_kpts": joints[91:112], "righthand_kpts": joints[112:]}
    record = {"image_id": 1, "category_id": 1, "score": 0.9, **{k: v.ravel().tolist() for k, v in parts.items()}}
    (person,) = read_people(_write(tmp_path / "wb.json", [record]))
    assert person.joint_set == "coco_wholebody133"
    np.testing.assert_array_equal(person.keypoints, joints)
    np.testing.assert_array_equal(to_coco17(person).keypoints, joints[:17])


def test_coco_annotations_turn_visibility_flags_into_confidence(tmp_path: Path) -> None:
    kp = _joints(17)
    kp[:, 2] = [2, 1, 0] * 5 + [2, 2]
    data = {"images": [{"id": 3, "file_name": "a.jpg"}],
            "annotations": [{"image_id": 3, "keypoints": kp.ravel().tolist(), "bbox": [1, 2, 3, 4], "num_keypoints": 12},
                            {"image_id": 3, "keypoints": [0] * 51, "num_keypoints": 0}]}
    (person,) = read_people(_write(tmp_path / "ann.json", data))  # the unlabelled one is no detection
    np.testing.assert_array_equal(person.keypoints[:, 2], [1, 1, 0] * 5 + [1, 1])
    np.testing.assert_array_equal(person.keypoints[:, :2], kp[:, :2])
    assert person.score == 1.0 and person.source == "coco-annotations"


def _mmpose_instance(joints: np.ndarray, box_xyxy: list[float] | None = None, score: float | None = None) -> dict:
    inst = {"keypoints": joints[:, :2].tolist(), "keypoint_scores": joints[:, 2].tolist()}
    if box_xyxy is not None:
        inst["bbox"] = [box_xyxy]  # mmpose writes the box as a one-element list
        inst["bbox_score"] = score
    return inst


@pytest.mark.parametrize("layout", ["inferencer", "inferencer-video", "demo", "demo-video", "predictions"])
def test_mmpose_layouts(tmp_path: Path, layout: str) -> None:
    a, b = _joints(17), _joints(133, offset=5)
    instances = [_mmpose_instance(a, [10, 20, 50, 90], 0.7), _mmpose_instance(b)]
    data = {"inferencer": instances,
            "inferencer-video": [{"frame_id": 0, "instances": instances}],
            "demo": {"meta_info": {"dataset_name": "coco"}, "instance_info": instances},
            "demo-video": {"meta_info": {}, "instance_info": [{"frame_id": 1, "instances": instances}]},
            "predictions": {"visualization": [], "predictions": [instances]}}[layout]
    people = read_people(_write(tmp_path / "mm.json", data))
    assert [p.joint_set for p in people] == ["coco17", "coco_wholebody133"]
    np.testing.assert_array_equal(people[0].keypoints, a)
    np.testing.assert_array_equal(people[1].keypoints, b)
    np.testing.assert_array_equal(people[0].box, [10, 20, 40, 70])  # x1, y1, x2, y2 -> x, y, w, h
    assert people[0].score == 0.7 and people[1].score == pytest.approx(b[:, 2].mean())
    np.testing.assert_array_equal(to_coco17(people[1]).keypoints, b[:17])


def test_mmpose_video_frames_are_kept_and_filterable(tmp_path: Path) -> None:
    frames = [{"frame_id": i, "instances": [_mmpose_instance(_joints(17, offset=i))]} for i in range(3)]
    path = _write(tmp_path / "video.json", frames)
    assert [p.frame for p in read_people(path)] == [0, 1, 2]
    (second,) = read_people(path, frame=1)
    assert second.keypoints[0, 0] == 101


BODY25_TO_COCO17_U = [100, 116, 115, 118, 117, 105, 102, 106, 103, 107, 104, 112, 109, 113, 110, 114, 111]
"""u of each COCO keypoint when BODY_25 joint i sits at u = 100 + i (nose 0, l/r eye 16/15, ...)."""
COCO18_TO_COCO17_U = [100, 115, 114, 117, 116, 105, 102, 106, 103, 107, 104, 111, 108, 112, 109, 113, 110]
"""The same for COCO-18 (nose 0, neck 1, r/l eye 14/15, r/l ear 16/17, r hip 8, l hip 11, ...)."""


def test_openpose_body25_and_coco18_map_to_coco17(tmp_path: Path) -> None:
    body25, coco18 = _joints(25), _joints(18)
    empty = np.zeros(75)
    data = {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": body25.ravel().tolist(), "face_keypoints_2d": [],
         "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []},
        {"person_id": [-1], "pose_keypoints_2d": empty.tolist()},
        {"person_id": [-1], "pose_keypoints_2d": coco18.ravel().tolist()}]}
    first, second = read_people(_write(tmp_path / "op_keypoints.json", data))
    assert (first.joint_set, second.joint_set) == ("body25", "coco18")
    np.testing.assert_array_equal(first.keypoints, body25)
    np.testing.assert_array_equal(to_coco17(first).keypoints[:, 0], BODY25_TO_COCO17_U)
    np.testing.assert_array_equal(to_coco17(first).keypoints[:, 1], np.array(BODY25_TO_COCO17_U) + 100)
    np.testing.assert_array_equal(to_coco17(second).keypoints[:, 0], COCO18_TO_COCO17_U)
    np.testing.assert_allclose(to_coco17(second).keypoints[:, 2], (np.array(COCO18_TO_COCO17_U) - 100) / 1000 + 0.5)
    assert read_people(_write(tmp_path / "none.json", {"version": 1.3, "people": []})) == []


def test_behave_color_json_and_its_all_zero_form(tmp_path: Path) -> None:
    joints = _joints(25)
    joints[3] = 0.0  # one missed joint
    data = {"body_joints": joints.ravel().tolist(), "face_joints": [0.0] * 210,
            "left_hand_joints": [0.0] * 63, "right_hand_joints": [0.0] * 63}
    (person,) = read_people(_write(tmp_path / "k1.color.json", data))
    assert person.joint_set == "body25" and person.source == "behave"
    np.testing.assert_array_equal(person.keypoints, joints)
    np.testing.assert_array_equal(person.box, [100, 200, 24, 24])
    zeros = dict(data, body_joints=[0.0] * 75)
    assert read_people(_write(tmp_path / "k2.color.json", zeros)) == []


def test_box_from_keypoints_ignores_undetected_joints() -> None:
    kp = np.array([[5.0, 6.0, 0.9], [1000.0, 1000.0, 0.0], [15.0, 2.0, 0.4]])
    np.testing.assert_array_equal(box_from_keypoints(kp), [5, 2, 10, 4])
    np.testing.assert_array_equal(box_from_keypoints(np.zeros((3, 3))), np.zeros(4))


def _person(box: list[float], score: float) -> PersonKeypoints:
    return PersonKeypoints(np.ones((17, 3)), "coco17", np.asarray(box, float), score)


def test_choose_person_by_overlap_index_and_score() -> None:
    people = [_person([0, 0, 100, 200], 0.9), _person([300, 0, 100, 200], 0.5), _person([150, 0, 100, 200], 0.6)]
    object_box = np.array([340.0, 50.0, 100.0, 50.0])  # overlaps person 1 (60 x 50) only
    assert choose_person(people, object_box) is people[1]
    mask = np.zeros((300, 500), bool)
    mask[100:150, 180:320] = True  # 70 columns inside person 2, 20 inside person 1
    assert choose_person(people, mask) is people[2]
    assert choose_person(people, np.array([120.0, 250.0, 10.0, 10.0])) is people[0]  # apart: nearest
    assert choose_person(people) is people[0]  # highest score
    assert choose_person(people, object_box, index=2) is people[2]
    with pytest.raises(ValueError, match="no person"):
        choose_person([])
    with pytest.raises(ValueError, match="index"):
        choose_person(people, index=3)


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    (json.dumps({"version": 1.3, "people": [{"face_keypoints_2d": []}]}), "pose_keypoints_2d"),
    (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 60}]}), r"people\[0\]\.pose_keypoints_2d.*75"),
    (json.dumps({"body_joints": [1.0] * 74}), "body_joints"),
    (json.dumps([{"image_id": 1, "keypoints": [1.0, 2.0, 0.5] * 16 + [float("nan")] * 3}]), r"\[0\]\.keypoints.*NaN"),
    (json.dumps([{"image_id": 1, "keypoints": [1.0, 2.0, -0.5] * 17}]), "negative confidence"),
    (json.dumps([{"image_id": 1, "keypoints": [1.0, 2.0, 0.5] * 17, "bbox": [1, 2, 3]}]), "box"),
    (json.dumps([{"keypoints": [[1, 2]] * 17, "keypoint_scores": [0.5] * 16}]), "keypoint_scores"),
    (json.dumps([{"keypoints": [[1, 2]] * 20, "keypoint_scores": [0.5] * 20}]), "17 or 133"),
    (json.dumps({"instance_info": [{"frame_id": 0, "instances": {"a": 1}}]}), "instances"),
    (json.dumps({"something": []}), "unknown keypoint file layout"),
    (json.dumps("text"), "expected a JSON object or list"),
])
def test_malformed_files_name_the_file_and_key(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad_keypoints.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_people(path)
    assert "bad_keypoints.json" in str(info.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing.json.*not found"):
        read_people(tmp_path / "missing.json")
