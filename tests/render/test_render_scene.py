"""render_scene: silhouettes, depth, instance order, visibility, extrinsics, hit geometry."""

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.geometry import RigidTransform
from hoirecon.render import Camera, SceneMesh, render_scene

F = 200.0
W, H = 128, 96
K = np.array([[F, 0.0, 63.5], [0.0, F, 47.5], [0.0, 0.0, 1.0]])
CAM = Camera(K, W, H)


def sphere(center, radius, name="sphere", subdivisions=4, color=(0.8, 0.5, 0.4)) -> SceneMesh:
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return SceneMesh(mesh.vertices + np.asarray(center), mesh.faces, color, name)


def square(z, half, name="square", center=(0.0, 0.0)) -> SceneMesh:
    cx, cy = center
    corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * half + [cx, cy]
    verts = np.column_stack([corners, np.full(4, z)])
    return SceneMesh(verts, np.array([[0, 1, 2], [0, 2, 3]]), (0.2, 0.6, 0.3), name)


def test_sphere_silhouette_matches_analytic_area():
    r, d = 0.5, 3.0
    cam = Camera(np.array([[F, 0, 99.5], [0, F, 99.5], [0, 0, 1.0]]), 200, 200)
    result = render_scene([sphere([0, 0, d], r, subdivisions=5)], cam)
    radius_px = F * r / np.sqrt(d**2 - r**2)
    expected = np.pi * radius_px**2
    area = np.count_nonzero(result.instance == 1)
    assert abs(area - expected) / expected < 0.02


def test_fronto_parallel_plane_depth_and_hit_geometry():
    result = render_scene([square(2.0, 5.0)], CAM)
    assert np.all(result.instance == 1)
    np.testing.assert_allclose(result.depth, 2.0, rtol=1e-6)
    assert result.depth.dtype == np.float32
    np.testing.assert_allclose(result.hit_point[..., 2], 2.0, rtol=1e-9)
    np.testing.assert_allclose(result.barycentric.sum(axis=-1), 1.0, atol=1e-9)
    assert set(np.unique(result.hit_face)) == {0, 1}


def test_hit_points_project_to_their_pixels_on_a_tilted_plane():
    verts = np.array([[-4.0, -4.0, 1.0], [4.0, -4.0, 5.0], [4.0, 4.0, 5.0], [-4.0, 4.0, 1.0]])
    plane = SceneMesh(verts, np.array([[0, 1, 2], [0, 2, 3]]), (0.5, 0.5, 0.5), "plane")
    result = render_scene([plane], CAM)
    assert np.all(result.instance == 1)
    points = result.hit_point.reshape(-1, 3)
    np.testing.assert_allclose(points[:, 2], 3.0 + 0.5 * points[:, 0], atol=1e-9)
    rows, cols = np.mgrid[0:H, 0:W]
    pixel_centres = np.stack([cols.ravel(), rows.ravel()], axis=1)
    np.testing.assert_allclose(CAM.project(points), pixel_centres, atol=1e-6)
    face_verts = verts[plane.faces[result.hit_face.ravel()]]
    recomputed = np.einsum("rk,rkc->rc", result.barycentric.reshape(-1, 3), face_verts)
    np.testing.assert_allclose(recomputed, points, atol=1e-9)
    np.testing.assert_allclose(result.depth.ravel(), points[:, 2], rtol=1e-6)


@pytest.mark.parametrize("near_first", [True, False])
def test_nearer_mesh_wins_instance_and_depth(near_first):
    near, far = square(2.0, 0.3, "near"), square(3.0, 1.0, "far")
    meshes = [near, far] if near_first else [far, near]
    result = render_scene(meshes, CAM)
    near_id = result.names.index("near") + 1
    far_id = result.names.index("far") + 1
    centre = result.instance[40:56, 56:72]
    assert np.all(centre == near_id)
    np.testing.assert_allclose(result.depth[40:56, 56:72], 2.0, rtol=1e-6)
    near_px = np.count_nonzero(result.instance == near_id)
    assert abs(near_px - (2 * 0.3 * F / 2.0) ** 2) <= 2 * 60 + 4
    assert np.all(result.instance[result.instance != near_id] == far_id)


def test_sphere_front_hemisphere_visible_back_hidden():
    center, r = np.array([0.1, -0.05, 3.0]), 0.4
    mesh = sphere(center, r, subdivisions=4)
    result = render_scene([mesh], CAM)
    visible = result.vertex_visible[0]
    # a faceted sphere's horizon deviates from the true one by about an edge angle (~0.06 rad)
    normals = (mesh.vertices - center) / r
    to_camera = -mesh.vertices / np.linalg.norm(mesh.vertices, axis=1)[:, None]
    facing = np.einsum("vc,vc->v", normals, to_camera)
    assert np.all(visible[facing > 0.1])
    assert not np.any(visible[facing < -0.1])
    assert visible.sum() < 0.55 * len(visible)
    assert visible.dtype == bool and visible.shape == (len(mesh.vertices),)


def test_vertices_outside_image_or_occluded_are_not_visible():
    left = sphere([-1.05, 0.0, 3.0], 0.3, "left", subdivisions=3)
    hidden = sphere([0.0, 0.0, 4.0], 0.2, "hidden", subdivisions=2)
    wall = square(2.0, 0.2, "wall")
    result = render_scene([left, hidden, wall], CAM)
    uv = CAM.project(left.vertices)
    outside = uv[:, 0] < -0.5
    assert outside.any() and (~outside).any()
    assert not np.any(result.vertex_visible[0][outside])
    assert np.any(result.vertex_visible[0][~outside])
    assert not np.any(result.vertex_visible[1])
    assert np.all(result.vertex_visible[2])


def test_extrinsics_equal_pre_transformed_mesh():
    rng = np.random.default_rng(3)
    R = Rotation.random(random_state=3).as_matrix()
    t = rng.normal(size=3)
    cam_space = [sphere([0.2, 0.1, 3.0], 0.5, "a", 3), square(3.4, 0.8, "b", center=(-0.3, 0.2))]
    world = [SceneMesh((m.vertices - t) @ R, m.faces, m.color, m.name) for m in cam_space]
    posed = render_scene(world, Camera(K, W, H, RigidTransform(rotation=R, translation=t)))
    direct = render_scene(cam_space, CAM)
    assert np.mean(posed.instance == direct.instance) > 0.999
    same = (posed.instance == direct.instance) & (direct.instance > 0)
    np.testing.assert_allclose(posed.depth[same], direct.depth[same], rtol=1e-6)
    np.testing.assert_allclose(posed.hit_point[same], direct.hit_point[same], atol=1e-6)
    for a, b in zip(posed.vertex_visible, direct.vertex_visible):
        assert np.mean(a == b) > 0.99


@pytest.mark.parametrize("center", [[0.23, -0.17, 4.0], [-0.31, 0.12, 3.3], [0.0, 0.0, 5.0]])
def test_small_sphere_centroid_lands_on_projected_centre(center):
    center = np.asarray(center)
    result = render_scene([sphere(center, 0.12, subdivisions=4)], CAM)
    rows, cols = np.nonzero(result.instance == 1)
    expected = K @ center
    expected = expected[:2] / expected[2]
    # a half-pixel slip in the pixel-centre convention would show up as a 0.5 px offset
    assert np.hypot(cols.mean() - expected[0], rows.mean() - expected[1]) < 0.2


def test_background_kept_and_rgb_type():
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    result = render_scene([sphere([0, 0, 3], 0.5)], CAM, background=background)
    assert result.rgb.dtype == np.uint8 and result.rgb.shape == (H, W, 3)
    empty = result.instance == 0
    assert empty.any() and (~empty).any()
    np.testing.assert_array_equal(result.rgb[empty], background[empty])
    assert np.all(np.isinf(result.depth[empty])) and np.all(result.hit_face[empty] == -1)
    assert np.all(np.isnan(result.hit_point[empty]))


def test_headlight_shading_brightest_where_surface_faces_camera():
    result = render_scene([sphere([0, 0, 3], 0.5, color=(1.0, 1.0, 1.0))], CAM)
    gray = result.rgb[..., 0].astype(float)
    rows, cols = np.nonzero(result.instance == 1)
    dist = np.hypot(rows - 47.5, cols - 63.5)
    centre, rim = gray[rows, cols][dist < 5].mean(), gray[rows, cols][dist > dist.max() - 2].mean()
    assert centre > 240 and rim < centre - 60
    flat = render_scene([sphere([0, 0, 3], 0.5, color=(1.0, 0.5, 0.0))], CAM, shading=False)
    assert np.all(flat.rgb[flat.instance == 1] == [255, 128, 0])


def test_meshes_behind_camera_render_nothing():
    behind = sphere([0, 0, -3], 0.5, "behind")
    floor = square(0.5, 3.0, "floor")
    crossing = SceneMesh(floor.vertices[:, [0, 2, 1]], floor.faces, name="crossing")
    result = render_scene([behind, crossing], CAM)
    assert not np.any(result.instance == 1)
    assert not np.any(result.vertex_visible[0])
    hit = result.instance == 2
    assert hit[-1].all() and not hit[0].any()
    assert np.all(result.depth[hit] > 0)


def test_nan_vertices_raise_naming_the_mesh():
    bad = sphere([0, 0, 3], 0.5, "chair")
    verts = bad.vertices.copy()
    verts[5, 1] = np.nan
    with pytest.raises(ValueError, match="chair"):
        render_scene([SceneMesh(verts, bad.faces, name="chair")], CAM)


def test_rejects_duplicate_names_and_bad_background():
    with pytest.raises(ValueError, match="names"):
        render_scene([square(2.0, 0.2, "x"), square(3.0, 0.2, "x")], CAM)
    with pytest.raises(ValueError, match="background"):
        render_scene([square(2.0, 0.2)], CAM, background=np.zeros((H, W, 3)))


def test_trimesh_input_and_local_face_ids():
    box = trimesh.creation.box(extents=[0.4, 0.4, 0.4])
    box.apply_translation([0.0, 0.0, 2.5])
    result = render_scene([sphere([0, 0, 5], 1.5, subdivisions=2), box], CAM)
    assert result.names == ("sphere", "mesh_1")
    on_box = result.instance == 2
    assert on_box.any()
    assert result.hit_face[on_box].max() < len(box.faces)
    tri = box.vertices[box.faces[result.hit_face[on_box]]]
    recomputed = np.einsum("rk,rkc->rc", result.barycentric[on_box], tri)
    np.testing.assert_allclose(recomputed, result.hit_point[on_box], atol=1e-9)


def test_empty_scene_renders_background():
    result = render_scene([], CAM)
    assert np.all(result.instance == 0) and result.vertex_visible == []
