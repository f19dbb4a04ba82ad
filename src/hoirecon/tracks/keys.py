"""The keys of the RHOBIN files: BEHAVE sequence names, frame times, and our image ids.

RHOBIN's ``ref.pkl`` and ``results.pkl`` key by BEHAVE sequence name
(``Date03_Sub03_chairwood_hand``, whose third ``_`` field is the object) and list each sequence's
frames by their folder name, a time (``t0003.000``). Our BEHAVE reader names an image
``<sequence>_<frame>_k<k>``; :func:`parse_image_id` takes it apart again.

A split file is BEHAVE's ``split.json`` (``{"train": [...], "test": [...]}``; the test sequences
are used) or a plain JSON list of sequence names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SEQUENCE_RE = re.compile(r"^Date\d+_Sub\d+_[a-z]+(_\w+)?$")
"""A BEHAVE sequence name; a few release sequences have no action part (``Date04_Sub05_stool``)."""
FRAME_RE = re.compile(r"^t\d+\.\d+$")
IMAGE_ID_RE = re.compile(r"^(?P<seq>Date\d+_Sub\d+_[a-z]+(?:_\w+?)?)_(?P<frame>t\d+\.\d+)_k(?P<k>\d+)$")


@dataclass(frozen=True)
class FrameKey:
    """One image of a BEHAVE frame: sequence, frame time and Kinect."""

    sequence: str
    frame: str
    kinect: int

    @property
    def object_name(self) -> str:
        """The object, the third ``_`` field of the sequence name."""
        return self.sequence.split("_")[2]


def parse_image_id(image_id: str) -> FrameKey | None:
    """``<sequence>_<frame>_k<k>`` -> its parts; None for an id of another dataset."""
    match = IMAGE_ID_RE.match(str(image_id))
    if match is None:
        return None
    return FrameKey(match["seq"], match["frame"], int(match["k"]))


def object_of(sequence: str) -> str:
    """The object of a BEHAVE sequence name; ValueError naming the sequence when it has none."""
    parts = sequence.split("_")
    if not SEQUENCE_RE.match(sequence):
        raise ValueError(f"sequence {sequence!r}: not a BEHAVE sequence name (Date<xx>_Sub<xx>_<object>_<action>)")
    return parts[2]


def read_split(path: str | Path) -> list[str]:
    """The sequences of a split file (see the module docstring), in file order.

    Raises:
        ValueError: unreadable JSON, a layout other than the two above, no sequence, or a
            name that is not a BEHAVE sequence name; the message names the file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable split file ({error})") from error
    names = data.get("test") if isinstance(data, dict) else data
    if not isinstance(names, list) or not names:
        raise ValueError(f"{path}: expected {{\"test\": [sequence names]}} or a list of sequence names")
    for name in names:
        if not isinstance(name, str) or not SEQUENCE_RE.match(name):
            raise ValueError(f"{path}: {name!r} is not a BEHAVE sequence name (Date<xx>_Sub<xx>_<object>_<action>)")
    return list(dict.fromkeys(names))


def frame_folders(sequence: Path) -> list[Path]:
    """The frame folders of a sequence folder (``t####.###``), in time order."""
    return sorted(p for p in sequence.iterdir() if p.is_dir() and FRAME_RE.match(p.name))
