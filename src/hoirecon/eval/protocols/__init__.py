"""Evaluation protocols: the paper's WildHOI and BEHAVE/CHORE benchmarks on a dataset and a
fits folder, and the three RHOBIN challenge tracks on ``results.pkl`` / ``ref.pkl`` files.

Every entry point returns a :class:`ProtocolResult` (leaderboard row, per-group means, per-frame
table); :mod:`hoirecon.eval.report` writes and compares them.

=====================  ==========================================  =======================
protocol               entry point                                 units
=====================  ==========================================  =======================
``wildhoi``            :func:`evaluate_wildhoi`                    cm / cm / deg / cm
``behave``             :func:`evaluate_behave`,                    cm
                       :func:`evaluate_behave_files`
``rhobin-object``      :func:`evaluate_object_files`               mm / px / deg, recalls
``rhobin-human``       :func:`evaluate_human_files`                mm / % / deg
``rhobin-joint``       :func:`evaluate_joint_files`                mm
=====================  ==========================================  =======================
"""

from hoirecon.eval.protocols.behave import BEHAVE_METRICS, evaluate_behave, evaluate_behave_files
from hoirecon.eval.protocols.matching import COVERAGE_MIN, VISIBLE_MIN
from hoirecon.eval.protocols.result import (
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OK,
    CoverageError,
    EvalInputError,
    FrameTable,
    MetricSpec,
    ProtocolResult,
)
from hoirecon.eval.protocols.rhobin_human import HUMAN_METRICS, evaluate_human_files
from hoirecon.eval.protocols.rhobin_joint import RHOBIN_JOINT_SAMPLES, evaluate_joint_files
from hoirecon.eval.protocols.rhobin_object import OBJECT_METRICS, evaluate_object_files
from hoirecon.eval.protocols.submission import load_rhobin_file
from hoirecon.eval.protocols.wildhoi import PAPER_SAMPLES, WILDHOI_METRICS, evaluate_wildhoi

__all__ = [
    "BEHAVE_METRICS",
    "COVERAGE_MIN",
    "HUMAN_METRICS",
    "OBJECT_METRICS",
    "PAPER_SAMPLES",
    "RHOBIN_JOINT_SAMPLES",
    "STATUS_INVALID",
    "STATUS_MISSING",
    "STATUS_OK",
    "VISIBLE_MIN",
    "WILDHOI_METRICS",
    "CoverageError",
    "EvalInputError",
    "FrameTable",
    "MetricSpec",
    "ProtocolResult",
    "evaluate_behave",
    "evaluate_behave_files",
    "evaluate_human_files",
    "evaluate_joint_files",
    "evaluate_object_files",
    "evaluate_wildhoi",
    "load_rhobin_file",
]
