"""CLI: ``hoirecon detect``: the person on one photo as COCO-17 keypoints and a mask, on the CPU.

The detector's thresholds are the options under DetectorConfig. The files are those of
:func:`hoirecon.detect.write_detection`: ``keypoints.json`` (COCO keypoint results, which
``reconstruct --person-keypoints`` and every keypoint reader take) and ``person_mask.png``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from hoirecon.cli.common import console, exit_with_error
from hoirecon.cli.options import FRACTION, ConfigArgs, ConfigOptions
from hoirecon.detect import DetectorConfig, DetectorUnavailableError, detect_person, write_detection

DETECT_FIELDS = ("min_detection_confidence", "mask_threshold", "min_keypoint_confidence")
DETECT_OPTIONS = ConfigOptions(DetectorConfig(), DETECT_FIELDS, ranges=dict.fromkeys(DETECT_FIELDS, FRACTION))


def image_id_of(image: Path) -> int | str:
    """The ``image_id`` of the results: the file name's number (COCO names files by id), else its stem."""
    return int(image.stem) if image.stem.isdigit() else image.stem


@DETECT_OPTIONS.command
def detect(
    args: ConfigArgs[DetectorConfig],
    image: Path = typer.Argument(..., help="The photo (JPEG, PNG, ...).", show_default=False),
    out: Path = typer.Option(..., "--out", help="Output folder: keypoints.json, person_mask.png."),
    image_id: str = typer.Option(None, "--image-id", help="image_id written in keypoints.json (default: the "
                                 "file name's number, else its stem)."),
) -> None:
    """Find the person on ONE photo: COCO-17 keypoints with confidences, a box and a mask."""
    if out.exists() and not out.is_dir():
        exit_with_error(f"--out {out}: exists and is not a folder")
    try:
        detection = detect_person(image, args.build())
        files = write_detection(detection, out, image_id or image_id_of(image))
    except (ValueError, OSError, DetectorUnavailableError) as err:
        exit_with_error(err)
    box = ", ".join(f"{v:.0f}" for v in detection.box)
    console.print(f"person found: score {detection.score:.2f}, box x, y, w, h = {box}", highlight=False,
                  soft_wrap=True)
    for path in (files.keypoints, files.mask):
        console.print(f"wrote {escape(str(path))}", highlight=False, soft_wrap=True)
