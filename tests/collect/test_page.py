"""The annotation page's content: images, cameras, the person, the template, both modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoirecon.collect.annotations import empty_annotations
from hoirecon.collect.build import BuildConfig, build_dataset
from hoirecon.collect.page import default_annotation_path, page_data, page_images, render_page, template_data
from hoirecon.collect.server import write_page_file
from hoirecon.objects import load_template


def _embedded(html: str) -> dict:
    return json.loads(html.split('id="hoi-data">')[1].split("</script>")[0].replace("<\\/", "</"))


def test_folder_images_carry_camera_and_person(photo_folder) -> None:
    folder, truth = photo_folder
    (folder / f"{sorted(truth)[0]}.object_mask.png").write_bytes(b"")  # evidence, never a page image
    images = page_images(folder, "skateboard")
    assert [im.image_id for im in images] == sorted(truth)
    camera = json.loads((folder / f"{images[0].image_id}.camera.json").read_text())["intrinsics"]
    assert images[0].intrinsics.tolist() == camera and images[0].person.shape == (17, 3)


def test_file_mode_embeds_everything_and_names_the_download(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    page = write_page_file(folder, "skateboard", tmp_path / "notes.json", tmp_path / "page.html")
    data = _embedded(page.read_text())
    assert data["mode"] == "file" and data["file_name"] == "notes.json" and data["annotations"] == {}
    assert len(data["images"]) == len(truth) and all(im["src"].startswith("data:image/png;base64,")
                                                     for im in data["images"])
    assert data["names"] == list(load_template("skateboard").keypoint_names)


def test_server_mode_links_images_and_keeps_saved_annotations(photo_folder) -> None:
    folder, _ = photo_folder
    template = load_template("skateboard")
    doc = empty_annotations("skateboard", list(template.keypoint_names))
    doc["images"]["x"] = {"done": True}
    data = page_data(page_images(folder, "skateboard"), "skateboard", template, doc, "server", "a.json")
    assert data["images"][1]["src"] == "/image/1" and data["annotations"] == {"x": {"done": True}}
    html = render_page(data)
    assert "</script>" not in html.split('id="hoi-data">')[1].split("</script>")[0]
    with pytest.raises(ValueError, match="mode"):
        page_data([], "skateboard", template, doc, "remote", "a.json")


def test_template_picture_data() -> None:
    data = template_data(load_template("cello"))
    assert len(data["keypoints"]) == 14 and 0 < len(data["points"]) <= 600 and data["diameter"] > 0.5


def test_bad_sources_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no readable image"):
        page_images(tmp_path, "skateboard")
    with pytest.raises(ValueError, match="expected a folder"):
        page_images(tmp_path / "missing", "skateboard")


def test_a_built_dataset_can_be_annotated_again(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    build_dataset(folder, tmp_path / "ds", BuildConfig("skateboard"))
    images = page_images(tmp_path / "ds", "skateboard")
    assert [im.image_id for im in images] == sorted(truth)
    assert all(im.path.is_file() and im.person.shape == (17, 3) for im in images)
    assert default_annotation_path(tmp_path / "ds", "skateboard") == tmp_path / "ds" / "skateboard.annotations.json"
