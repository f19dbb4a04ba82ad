"""Loading and saving templates: mesh + keypoint JSON, BEHAVE trees, malformed inputs."""

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.objects import (
    BEHAVE_OBJECTS,
    get_category_template,
    load_behave_template,
    load_template,
    save_template,
)


def _write_mesh(path: Path, mesh: trimesh.Trimesh) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)


def _cone(seed: int = 0) -> trimesh.Trimesh:
    """A small cone, shifted off-centre so centring is observable."""
    mesh = trimesh.creation.cone(radius=0.1, height=0.3, sections=8)
    mesh.apply_translation(np.random.default_rng(seed).normal(size=3))
    return mesh


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
@pytest.mark.parametrize("name", ["skateboard", "tennis_racket", "barbell"])
def test_save_load_round_trip(tmp_path: Path, suffix: str, name: str) -> None:
    template = get_category_template(name)
    json_path = save_template(template, tmp_path / f"{name}{suffix}")
    assert json_path == tmp_path / f"{name}.keypoints.json"
    loaded = load_template(tmp_path / f"{name}{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{name}{suffix}", json_path.name])
    np.testing.assert_allclose(loaded.vertices, template.vertices, atol=1e-6)  # PLY is float32
    np.testing.assert_array_equal(loaded.faces, template.faces)
    np.testing.assert_allclose(loaded.keypoints, template.keypoints, atol=1e-6)
    assert loaded.keypoint_names == template.keypoint_names
    assert (loaded.name, loaded.category) == (template.name, template.category)
    np.testing.assert_array_equal(loaded.keypoint_permutations, template.keypoint_permutations)
    np.testing.assert_allclose(loaded.symmetry_rotations, template.symmetry_rotations, atol=0)
    assert loaded.parts.keys() == template.parts.keys()
    assert all(np.array_equal(loaded.parts[k], template.parts[k]) for k in template.parts)
    assert loaded.interaction_pairs == template.interaction_pairs


def test_save_overwrites_atomically(tmp_path: Path) -> None:
    save_template(get_category_template("violin"), tmp_path / "thing.obj")
    save_template(get_category_template("baseball_bat"), tmp_path / "thing.obj")
    assert load_template(tmp_path / "thing.obj").name == "baseball_bat"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ValueError, match="thing.stl"):
        save_template(get_category_template("violin"), tmp_path / "thing.stl")


def test_auto_discovered_keypoint_file(tmp_path: Path) -> None:
    mesh = _cone()
    _write_mesh(tmp_path / "cone.ply", mesh)
    apex = int(np.argmax(mesh.vertices[:, 2]))
    base = np.flatnonzero(np.isclose(mesh.vertices[:, 2], mesh.vertices[:, 2].min())).tolist()
    spec = {
        "keypoints": {"apex": apex, "base": base},
        "parts": {"tip": [apex]},
        "interaction_pairs": [["right_hand", "tip"]],
        "symmetries": [
            {
                "R": Rotation.from_euler("z", 90, degrees=True).as_matrix().tolist(),
                "t": (
                    mesh.vertices[apex]
                    - Rotation.from_euler("z", 90, degrees=True).apply(mesh.vertices[apex])
                ).tolist(),
            }
        ],
    }
    (tmp_path / "cone.keypoints.json").write_text(json.dumps(spec))
    template = load_template(tmp_path / "cone.ply")
    assert template.keypoint_names == ("apex", "base") and template.name == "cone"
    np.testing.assert_allclose(template.keypoints[0], mesh.vertices[apex], atol=1e-6)
    np.testing.assert_allclose(template.keypoints[1], mesh.vertices[base].mean(0), atol=1e-6)
    assert template.num_symmetries == 2  # identity added first
    np.testing.assert_array_equal(template.keypoint_permutations, [[0, 1], [0, 1]])
    assert template.interaction_pairs == (("right_hand", "tip"),)


def test_numeric_keypoint_keys_and_explicit_file(tmp_path: Path) -> None:
    mesh = _cone()
    _write_mesh(tmp_path / "cone.obj", mesh)
    spec = {"keypoints": {"10": [3], "2": [2], "0": [0], "1": [1]}}
    (tmp_path / "elsewhere.json").write_text(json.dumps(spec))
    template = load_template(tmp_path / "cone.obj", keypoints=tmp_path / "elsewhere.json")
    assert template.keypoint_names == ("0", "1", "2", "10")
    np.testing.assert_allclose(template.keypoints, mesh.vertices[[0, 1, 2, 3]], atol=1e-7)


def test_mesh_without_keypoint_file_has_no_keypoints(tmp_path: Path) -> None:
    _write_mesh(tmp_path / "cone.ply", _cone())
    template = load_template(str(tmp_path / "cone.ply"))
    assert template.num_keypoints == 0 and template.keypoints.shape == (0, 3)
    assert template.keypoint_permutations.shape == (1, 0)


def _behave_tree(root: Path) -> dict[str, trimesh.Trimesh]:
    meshes = {}
    for seed, (name, file_name) in enumerate(
        [
            ("chairwood", "chairwood_f2500.ply"),
            ("monitor", "monitor_closed_f1000.ply"),
            ("tablesquare", "tablesquare_f2000.ply"),
            ("stool", "stool_f1000.ply"),
        ]
    ):
        meshes[name] = _cone(seed)
        _write_mesh(root / "objects" / name / file_name, meshes[name])
    return meshes


@pytest.mark.parametrize("name", ["chairwood", "monitor", "tablesquare", "stool"])
def test_behave_loader_centres_by_vertex_mean(tmp_path: Path, name: str) -> None:
    meshes = _behave_tree(tmp_path)
    template = load_behave_template(tmp_path, name)
    expected = meshes[name].vertices - meshes[name].vertices.mean(0)
    np.testing.assert_allclose(template.vertices, expected, atol=1e-6)
    np.testing.assert_allclose(template.vertices.mean(0), 0.0, atol=1e-12)
    assert (
        template.name == name and template.num_keypoints == 0 and template.keypoints.shape == (0, 3)
    )
    # the objects folder and the mesh file itself work too
    again = load_behave_template(tmp_path / "objects", name)
    np.testing.assert_array_equal(again.vertices, template.vertices)
    mesh_file = next((tmp_path / "objects" / name).iterdir())
    assert load_behave_template(mesh_file).name == name


def test_behave_fit_convention_and_keypoints(tmp_path: Path) -> None:
    meshes = _behave_tree(tmp_path)
    keypoint_file = tmp_path / "chair.json"
    keypoint_file.write_text(json.dumps({"keypoints": {"a": [0, 1], "b": [5]}}))
    template = load_behave_template(tmp_path, "chairwood", keypoints=keypoint_file)
    centred = meshes["chairwood"].vertices - meshes["chairwood"].vertices.mean(0)
    np.testing.assert_allclose(template.keypoints[1], centred[5], atol=1e-6)
    angle, trans = np.array([0.3, -0.2, 1.1]), np.array([0.5, 0.1, 2.0])
    rot = Rotation.from_rotvec(angle).as_matrix()
    np.testing.assert_allclose(template.transformed(rot, trans), centred @ rot.T + trans, atol=1e-6)


def test_behave_names() -> None:
    assert len(BEHAVE_OBJECTS) == 20 and len(set(BEHAVE_OBJECTS)) == 20
    assert {"chairblack", "chairwood", "monitor", "tablesquare", "yogamat"} <= set(BEHAVE_OBJECTS)


def _write_cone_with_json(tmp_path: Path, content: str) -> Path:
    _write_mesh(tmp_path / "cone.ply", _cone())
    (tmp_path / "cone.keypoints.json").write_text(content)
    return tmp_path / "cone.ply"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"parts": {}}', 'missing required key "keypoints"'),
        (
            '{"keypoints": {"tip": [0, 9999]}}',
            r"keypoints\['tip'\]: vertex id 9999 is out of range",
        ),
        ('{"keypoints": {"tip": [-1]}}', r"keypoints\['tip'\]"),
        ('{"keypoints": {"tip": [1.5]}}', "not an integer"),
        ('{"keypoints": {"tip": []}}', r"keypoints\['tip'\]"),
        ('{"keypoints": [1, 2]}', "keypoints"),
        (
            '{"keypoints": {"tip": [0]}, "symmetries": [{"R": [[1, 0], [0, 1]]}]}',
            r"symmetries\[0\].R",
        ),
        (
            '{"keypoints": {"tip": [0]}, "symmetries": [{"R": [[-1,0,0],[0,1,0],[0,0,1]]}]}',
            "not a proper rotation",
        ),
        ('{"keypoints": {"tip": [0]}, "parts": {"h": [77777]}}', r"parts\['h'\]"),
        ('{"keypoints": {"tip": [0]}, "interaction_pairs": [["left_knee", "h"]]}', "left_knee"),
        ('{"keypoints": {"tip": [0]}, "interaction_pairs": "x"}', "interaction_pairs"),
    ],
)
def test_malformed_keypoint_files_name_file_and_key(
    tmp_path: Path, content: str, message: str
) -> None:
    mesh_path = _write_cone_with_json(tmp_path, content)
    with pytest.raises(ValueError, match=message) as info:
        load_template(mesh_path)
    assert "cone.keypoints.json" in str(info.value)


def test_malformed_meshes_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "garbage.ply").write_bytes(b"\x00\x01 this is not a mesh")
    with pytest.raises(ValueError, match="garbage.ply"):
        load_template(tmp_path / "garbage.ply")
    (tmp_path / "truncated.ply").write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n"
    )
    with pytest.raises(ValueError, match="truncated.ply"):
        load_template(tmp_path / "truncated.ply")
    (tmp_path / "empty.obj").write_text("hello\n")
    with pytest.raises(ValueError, match="empty.obj.*no triangle mesh"):
        load_template(tmp_path / "empty.obj")
    (tmp_path / "mesh.stl").write_text("solid")
    with pytest.raises(ValueError, match="mesh.stl.*unsupported"):
        load_template(tmp_path / "mesh.stl")


def test_missing_files_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.ply"):
        load_template(tmp_path / "nothere.ply")
    _write_mesh(tmp_path / "cone.ply", _cone())
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_template(tmp_path / "cone.ply", keypoints=tmp_path / "missing.json")
    with pytest.raises(ValueError, match="unknown object category 'guitar'.*barbell"):
        load_template("guitar")
    with pytest.raises(ValueError, match="unknown object category 'guitar'.*violin"):
        get_category_template("guitar")
    with pytest.raises(ValueError, match="unknown BEHAVE object 'sofa'.*backpack"):
        load_behave_template(tmp_path, "sofa")
    with pytest.raises(FileNotFoundError, match="chairblack_f2500.ply"):
        load_behave_template(tmp_path, "chairblack")
    with pytest.raises(FileNotFoundError, match="no_such_root"):
        load_behave_template(tmp_path / "no_such_root", "stool")
    with pytest.raises(ValueError, match="name is required"):
        load_behave_template(tmp_path)
