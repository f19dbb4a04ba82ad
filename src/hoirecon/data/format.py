"""The on-disk dataset format: a JSON manifest plus one columnar ``.npz`` per category.

Every column of ``annotations/<category>.npz`` holds one row per image. Shapes below use
``N`` (images), ``K`` (= 22 + k keypoints), ``k`` (object keypoints) and ``C``
(correspondences per image, padded). Columns prefixed ``gt_`` or ``est_`` are optional as a
group: present for every row, with ``has_gt`` / ``has_estimate`` saying which rows are valid.
See ``docs/data-format.md`` for the prose version of this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from hoirecon.io.errors import FileFormatError

FORMAT_VERSION = 1
MANIFEST_NAME = "dataset.json"
ANNOTATION_DIR = "annotations"
SPLITS = ("train", "val", "test")


class DatasetFormatError(FileFormatError):
    """A dataset folder or file does not follow the format; the message names file and field."""


@dataclass(frozen=True)
class Column:
    """Shape and dtype contract of one annotation column."""

    name: str
    shape: tuple[str | int, ...]
    """Per-row shape; strings are symbolic dimensions (K, k, C)."""
    kind: str
    """numpy dtype kind: 'f' float, 'i' integer, 'b' bool, 'U' string."""
    group: str = "base"
    """'base' (required), 'gt', 'gt_camera', 'gt_instance', 'est' or 'video' (optional groups).
    'gt_camera' is the true camera where the base ``cam_rotation`` / ``cam_center`` come from a
    body estimate; 'video' says which video and frame an image was taken from (evidence);
    'gt_instance' says which images show the same 3D interaction (truth)."""


COLUMNS: tuple[Column, ...] = (
    Column("image_id", (), "U"),
    Column("split", (), "U"),
    Column("image_file", (), "U"),
    Column("human_mask_file", (), "U"),
    Column("object_mask_file", (), "U"),
    Column("image_size", (2,), "i"),
    Column("keypoints_2d", ("K", 2), "f"),
    Column("keypoint_conf", ("K",), "f"),
    Column("keypoint_visible", ("K",), "b"),
    Column("coco_keypoints", (17, 3), "f"),
    Column("intrinsics", (3, 3), "f"),
    Column("cam_rotation", (3, 3), "f"),
    Column("cam_center", (3,), "f"),
    Column("has_gt", (), "b", "gt"),
    Column("gt_betas", (10,), "f", "gt"),
    Column("gt_body_pose", (63,), "f", "gt"),
    Column("gt_global_orient", (3,), "f", "gt"),
    Column("gt_transl", (3,), "f", "gt"),
    Column("gt_joints_3d", (22, 3), "f", "gt"),
    Column("gt_object_rotation", (3, 3), "f", "gt"),
    Column("gt_object_translation", (3,), "f", "gt"),
    Column("gt_object_scale", (), "f", "gt"),
    Column("gt_object_keypoints_3d", ("k", 3), "f", "gt"),
    Column("gt_cam_rotation", (3, 3), "f", "gt_camera"),
    Column("gt_cam_center", (3,), "f", "gt_camera"),
    Column("gt_instance_id", (), "U", "gt_instance"),
    Column("has_estimate", (), "b", "est"),
    Column("est_betas", (10,), "f", "est"),
    Column("est_body_pose", (63,), "f", "est"),
    Column("est_global_orient", (3,), "f", "est"),
    Column("est_transl", (3,), "f", "est"),
    Column("est_object_keypoints_2d", ("k", 2), "f", "est"),
    Column("est_object_keypoint_conf", ("k",), "f", "est"),
    Column("est_corr_points", ("C", 3), "f", "est"),
    Column("est_corr_pixels", ("C", 2), "f", "est"),
    Column("est_corr_weight", ("C",), "f", "est"),
    Column("video_id", (), "U", "video"),
    Column("frame_index", (), "i", "video"),
)
COLUMNS_BY_NAME = {c.name: c for c in COLUMNS}


def columns_of(group: str) -> tuple[Column, ...]:
    """All columns of one group ('base', 'gt' or 'est')."""
    return tuple(c for c in COLUMNS if c.group == group)


def expected_shape(column: Column, num_rows: int, k: int, num_corr: int | None) -> tuple[int, ...] | None:
    """Concrete expected array shape of a column; None when ``C`` is free (any width is fine)."""
    dims: list[int] = [num_rows]
    for d in column.shape:
        if d == "K":
            dims.append(22 + k)
        elif d == "k":
            dims.append(k)
        elif d == "C":
            if num_corr is None:
                return None
            dims.append(num_corr)
        else:
            dims.append(int(d))
    return tuple(dims)
