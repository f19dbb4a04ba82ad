"""The ray backend: embree is really used, and the pure-numpy fallback agrees with it."""

import logging

import numpy as np
import trimesh

from hoirecon.render import Camera, SceneMesh, embree_available, raycast, render_scene
from hoirecon.render.mesh import combine_meshes

K = np.array([[60.0, 0.0, 15.5], [0.0, 60.0, 11.5], [0.0, 0.0, 1.0]])
CAM = Camera(K, 32, 24)


def _meshes() -> list[SceneMesh]:
    ball = trimesh.creation.icosphere(subdivisions=2, radius=0.4)
    box = trimesh.creation.box(extents=[0.3, 0.3, 0.3])
    return [
        SceneMesh(ball.vertices + [0.1, 0.0, 2.5], ball.faces, (0.9, 0.4, 0.3), "ball"),
        SceneMesh(box.vertices + [-0.2, 0.1, 2.0], box.faces, (0.3, 0.4, 0.9), "box"),
    ]


def test_embree_intersector_is_used():
    assert embree_available(), "embreex is a dependency and must be importable"
    scene = combine_meshes(_meshes(), CAM)
    intersector = raycast.make_intersector(scene)
    assert isinstance(intersector, trimesh.ray.ray_pyembree.RayMeshIntersector)


def test_fallback_warns_and_matches_embree(monkeypatch, caplog):
    reference = render_scene(_meshes(), CAM)
    monkeypatch.setattr(raycast, "embree_available", lambda: False)
    raycast._warn_slow_fallback.cache_clear()
    with caplog.at_level(logging.WARNING, logger="hoirecon.render.raycast"):
        slow = render_scene(_meshes(), CAM)
    assert any("embree" in rec.getMessage() for rec in caplog.records)
    assert np.mean(slow.instance == reference.instance) > 0.99
    same = (slow.instance == reference.instance) & (slow.instance > 0)
    np.testing.assert_allclose(slow.depth[same], reference.depth[same], rtol=1e-5)
    for a, b in zip(slow.vertex_visible, reference.vertex_visible):
        assert np.mean(a == b) > 0.97


def test_cast_rays_reports_depth_for_unnormalised_pixel_rays():
    scene = combine_meshes(_meshes(), CAM)
    hits = raycast.cast_rays(raycast.make_intersector(scene), scene, CAM.camera_ray_directions())
    points = CAM.camera_ray_directions() * hits.t[:, None]
    on = hits.hit
    tri = scene.vertices[scene.faces[hits.face[on]]]
    recomputed = np.einsum("rk,rkc->rc", hits.barycentric[on], tri)
    np.testing.assert_allclose(recomputed, points[on], atol=1e-9)
    assert np.all(np.isinf(hits.t[~on]))
