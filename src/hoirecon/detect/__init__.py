"""Person evidence from one image file, on the CPU and offline: COCO-17 keypoints, a box, a mask.

The detector is MediaPipe Pose with the models its wheel ships; it is the optional extra
``detect`` (``pip install 'hoirecon[detect]'``). Importing this package does not import mediapipe.

- ``landmarks``: MediaPipe's 33 pose landmarks as the 17 COCO keypoints, in pixels.
- ``mediapipe_pose``: the one place that runs mediapipe.
- ``person``: :func:`detect_person`, an image file to a :class:`PersonDetection`.
- ``writers``: the COCO keypoint results JSON and the person mask PNG.
"""

from hoirecon.detect.landmarks import COCO_KEYPOINT_NAMES
from hoirecon.detect.mediapipe_pose import DetectorUnavailableError
from hoirecon.detect.person import DetectorConfig, NoPersonError, PersonDetection, detect_person
from hoirecon.detect.writers import DetectionFiles, coco_result, write_detection

__all__ = [
    "COCO_KEYPOINT_NAMES", "DetectionFiles", "DetectorConfig", "DetectorUnavailableError", "NoPersonError",
    "PersonDetection", "coco_result", "detect_person", "write_detection",
]
