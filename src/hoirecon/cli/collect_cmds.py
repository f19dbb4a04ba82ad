"""CLI: ``hoirecon data build`` (photos or a video -> a dataset) and ``hoirecon annotate`` (the
annotation page). See ``docs/own-photos.md`` for the whole path from photos to a prior."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from hoirecon.cli.common import INPUT_ERRORS, check_output_folder, console, exit_with_error, progress_bar, writing
from hoirecon.collect.build import BuildConfig, build_dataset
from hoirecon.collect.object_pose import PoseConfig
from hoirecon.collect.page import default_annotation_path
from hoirecon.collect.server import annotation_server, write_page_file
from hoirecon.objects import CATEGORIES


def _check_category(value: str) -> str:
    if value not in CATEGORIES:
        raise typer.BadParameter(f"expected one of {', '.join(CATEGORIES)}, got {value!r}")
    return value


def build(
    images: Path = typer.Option(..., "--images", exists=True, help="Folder of images, or a video file."),
    category: str = typer.Option(..., "--category", callback=_check_category, help="Object category (template)."),
    out: Path = typer.Option(..., "--out", callback=check_output_folder, help="Dataset folder (resumes a run)."),
    annotations: Path = typer.Option(None, "--annotations", help="Annotation file of the annotation page "
                                     "(default: <images>/<category>.annotations.json when it exists)."),
    evidence: Path = typer.Option(None, "--evidence", file_okay=False, help="Folder of per-image evidence files "
                                  "(default: the images' folder); see docs/own-photos.md for their names."),
    every: int = typer.Option(1, "--every", min=1, help="Take every N-th frame."),
    duplicate_threshold: float = typer.Option(1.5, "--duplicate-threshold", min=0.0,
                                              help="Mean grey-level difference (0-255) below which a frame is a "
                                              "near-duplicate of the last one kept (0 keeps all)."),
    focal: float = typer.Option(None, "--focal", min=1.0, help="Focal length in pixels of images without a "
                                "camera file (default: the longer image side)."),
    detect: bool = typer.Option(False, "--detect", help="Run the offline person detector on images without a "
                                "keypoint file."),
    split: str = typer.Option("train", "--split", help="Split of every row: train, val or test."),
    min_iou: float = typer.Option(0.0, "--min-iou", min=0.0, max=1.0, help="Smallest person-object box IoU of a pair."),
    max_gap: float = typer.Option(0.25, "--max-gap", min=0.0, help="Largest gap between the boxes of a pair, in "
                                  "person box diagonals."),
    max_error_px: float = typer.Option(0.0, "--max-error-px", min=0.0, help="Largest mean reprojection error of a "
                                       "kept object pose, pixels (0: 1.5% of the image diagonal, at least 4)."),
    copy_images: bool = typer.Option(False, "--copy-images", help="Copy images and masks into the dataset."),
) -> None:
    """Build a dataset (our format, evidence only) from your own photos or video frames."""
    try:
        config = BuildConfig(category, split=split, every=every, duplicate_threshold=duplicate_threshold, focal=focal,
                             detect=detect, min_iou=min_iou, max_gap=max_gap, pose=PoseConfig(max_error_px=max_error_px),
                             copy_images=copy_images)
        with writing(out, folder=True), progress_bar() as bar:
            task = bar.add_task(f"build {category}", total=None)
            summary = build_dataset(images, out, config, annotations=annotations, evidence=evidence,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"kept {summary.kept} of {summary.frames} frames ({summary.reused} reused); pose methods "
                  f"{summary.methods}; dropped: {summary.reasons or 'none'}", markup=False, highlight=False)
    for image_id, reason in sorted(summary.dropped.items())[:20]:
        console.print(f"  dropped {image_id}: {reason}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {escape(str(out))} (summary: collect/{category}.summary.json)")


def annotate(
    source: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder of images, or a dataset folder."),
    category: str = typer.Option(..., "--category", callback=_check_category, help="Object category (template)."),
    out: Path = typer.Option(None, "--out", help="Annotation file (default: <source>/<category>.annotations.json); "
                             "an existing one is continued."),
    html: Path = typer.Option(None, "--html", help="Write the page as one self-contained HTML file (it downloads the "
                              "annotation JSON) instead of serving it."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port)."),
) -> None:
    """Click the object's keypoints on each image (served on 127.0.0.1, or as one HTML file)."""
    out = out or default_annotation_path(source, category)
    try:
        if html is not None:
            written = write_page_file(source, category, out, html)
            console.print(f"wrote {escape(str(written))}; open it in a browser, then move the downloaded "
                          f"{escape(out.name)} to {escape(str(out))}")
            return
        server = annotation_server(source, category, out, port)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"annotating {escape(str(source))} at {server.url} (saving to {escape(str(out))}); Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.httpd.server_close()
