import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.io.fits import load_fits


def _files(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    data = generate(tmp_path / "ds", SynthConfig(categories=("skateboard",), train=0, test=1, image_size=128, seed=7))
    s = next(load_dataset(data).samples("skateboard", "test"))
    files = {"kp": tmp_path / "kp.json", "obj": tmp_path / "obj.json", "corr": tmp_path / "corr.json"}
    files["kp"].write_text(json.dumps([{"image_id": 1, "score": 0.9, "keypoints": s.coco_keypoints.ravel().tolist()}]))
    obj = np.concatenate([s.estimate.object_keypoints_2d, s.estimate.object_keypoint_conf[:, None]], axis=1)
    files["obj"].write_text(json.dumps({"keypoints": obj.tolist()}))
    files["corr"].write_text(json.dumps({"points": s.estimate.corr_points.tolist(),
                                         "pixels": s.estimate.corr_pixels.tolist(),
                                         "weights": s.estimate.corr_weight.tolist()}))
    return s.image_path, files


def test_fit_image_from_explicit_files(tmp_path: Path) -> None:
    image, f = _files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["fit-image", "--image", str(image), "--keypoints", str(f["kp"]),
                                      "--category", "skateboard", "--out", str(out), "--object-keypoints",
                                      str(f["obj"]), "--correspondences", str(f["corr"]), "--preset", "none",
                                      "--focal", "150"])
    assert result.exit_code == 0, result.output
    fits = load_fits(out, "skateboard")
    assert fits.image_ids == [image.stem]
    assert fits.columns["object_translation_cam"][0, 2] > 0.5  # in front of the camera


def test_fit_image_names_a_malformed_file(tmp_path: Path) -> None:
    image, f = _files(tmp_path)
    f["obj"].write_text(json.dumps({"keypoints": [[1, 2, 3]]}))
    result = CliRunner().invoke(app, ["fit-image", "--image", str(image), "--keypoints", str(f["kp"]),
                                      "--category", "skateboard", "--out", str(tmp_path / "o"),
                                      "--object-keypoints", str(f["obj"]), "--preset", "none"])
    assert result.exit_code == 2 and "obj.json" in result.output and "8" in result.output
