"""Body landmarks: face points on the front of the head, the nose in front of the eyes, ears on
either side; COCO-17 points in COCO order; one lookup per model."""

from __future__ import annotations

import numpy as np

from hoirecon.body import load_body_model
from hoirecon.body.landmarks import COCO_FROM_JOINTS, body_landmarks, coco_points, joint_visibility


def test_face_landmarks_sit_on_the_head_in_coco_order() -> None:
    body = load_body_model()
    marks = body_landmarks(body)
    assert body_landmarks(body) is marks
    rest = body()
    verts, joints = rest.vertices[0].double().numpy(), rest.joints[0].double().numpy()
    nose, l_eye, r_eye, l_ear, r_ear = verts[marks.face_vertices]
    assert np.all(np.linalg.norm(verts[marks.face_vertices] - joints[15], axis=1) < 0.15)
    assert nose[2] > l_eye[2] and nose[2] > r_eye[2]  # the nose is the most forward (+z = front)
    assert l_eye[0] > nose[0] > r_eye[0] and l_ear[0] > l_eye[0] and r_ear[0] < r_eye[0]  # +x = the body's left
    points = coco_points(verts[None], joints[None], marks)
    assert points.shape == (1, 17, 3)
    np.testing.assert_allclose(points[0, 5:], joints[list(COCO_FROM_JOINTS)])
    visible = np.zeros(len(verts), bool)
    visible[marks.joint_vertices[4]] = True
    assert joint_visibility(visible, marks).tolist() == [i == 4 for i in range(22)]
