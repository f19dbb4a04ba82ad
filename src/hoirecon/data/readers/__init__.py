"""Readers of public datasets (WildHOI, BEHAVE) into typed samples, and conversion to our format.

Each reader is an iterable of :class:`ReaderResult` (a :class:`~hoirecon.data.sample.Sample`
plus what the files give beyond it) with a ``problems`` list of everything skipped::

    reader = read_wildhoi("/data/wildhoi", "tennis", split="test")
    report = convert(reader, "/data/hoirecon/wildhoi", "wildhoi-test", body_model="smplx")
    print(reader.problems, report.skipped)

Evidence columns come from detector and estimator files only; the datasets' fits and object
labels fill the ``gt_*`` columns, or feed the object evidence on request
(``object_evidence="annotation"``, recorded in the converted dataset's manifest).
"""

from hoirecon.data.readers.assemble import BodyModelLike
from hoirecon.data.readers.behave import BehaveReader, behave_templates, read_behave
from hoirecon.data.readers.behave_truth import APPROX_REST_PELVIS
from hoirecon.data.readers.common import LayoutError, ReaderProblem, SampleError
from hoirecon.data.readers.convert import ConvertReport, SkippedSample, convert
from hoirecon.data.readers.evidence import OBJECT_EVIDENCE
from hoirecon.data.readers.openpose import COCO_FROM_BODY25, SMPL_FROM_BODY25
from hoirecon.data.readers.records import BodyParams, ObjectPose, ReaderResult
from hoirecon.data.readers.wildhoi import WildHOIReader, read_wildhoi
from hoirecon.data.readers.wildhoi_files import WILDHOI_FOLDERS, wildhoi_folder

__all__ = [
    "APPROX_REST_PELVIS",
    "COCO_FROM_BODY25",
    "OBJECT_EVIDENCE",
    "SMPL_FROM_BODY25",
    "WILDHOI_FOLDERS",
    "BehaveReader",
    "BodyModelLike",
    "BodyParams",
    "ConvertReport",
    "LayoutError",
    "ObjectPose",
    "ReaderProblem",
    "ReaderResult",
    "SampleError",
    "SkippedSample",
    "WildHOIReader",
    "behave_templates",
    "convert",
    "read_behave",
    "read_wildhoi",
    "wildhoi_folder",
]
