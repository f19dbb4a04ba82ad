"""Redraw the README's pictures of ``hoirecon reconstruct`` on the photo shipped with the tests.

Runs the README's command (the offline person detector, a baseball bat standing in for the ski
pole, given by its knob and barrel-tip pixels, the default preset and prior) into a scratch folder
and copies its ``overlay.png`` and ``views.png`` to ``<out>/reconstruct_overlay.png`` and
``<out>/reconstruct_views.png``. ``make images`` runs it.

    python tools/draw_reconstruct_images.py [--out docs/images] [-- extra reconstruct options]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.io.atomic import atomic_copy

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "real" / "coco_000000000785" / "image.jpg"
POLE = [[296, 192, 1], [329, 305, 1]]
"""The bat's knob at the skier's right glove and its barrel tip at the pole's lower end, pixels."""
PICTURES = {"overlay.png": "reconstruct_overlay.png", "views.png": "reconstruct_views.png"}
"""Output of ``reconstruct`` -> name in the images folder."""


def reconstruct_args(pole: Path, out: Path, extra: list[str]) -> list[str]:
    """The README's ``hoirecon reconstruct`` command line (after the program name)."""
    return ["reconstruct", str(PHOTO), "--category", "baseball_bat", "--object-keypoints", str(pole),
            "--out", str(out), *extra]


def draw(images: Path, extra: list[str] | None = None) -> list[Path]:
    """Run the command and copy its pictures into ``images``; returns the paths written.

    Raises RuntimeError with the command's output when it fails.
    """
    with tempfile.TemporaryDirectory(prefix="hoirecon-images-") as scratch:
        pole = Path(scratch) / "pole.json"
        pole.write_text(json.dumps({"keypoints": POLE}))
        result = CliRunner().invoke(app, reconstruct_args(pole, Path(scratch) / "recon", extra or []))
        if result.exit_code != 0:
            raise RuntimeError(f"hoirecon reconstruct failed (exit code {result.exit_code}):\n{result.output}")
        images.mkdir(parents=True, exist_ok=True)
        return [atomic_copy(Path(scratch) / "recon" / name, images / target)
                for name, target in PICTURES.items()]


def main() -> None:
    """Parse the arguments and redraw the pictures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="the images folder")
    parser.add_argument("extra", nargs="*", help="more reconstruct options, after --")
    args = parser.parse_args()
    for path in draw(args.out, args.extra):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
