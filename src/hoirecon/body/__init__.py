"""SMPL-family body models: chumpy-free model file loading, linear blend skinning, and
`BodyModel`, a torch module posed by axis-angle parameters.

``load_body_model()`` with no path gives the embedded open body (SMPL format, SMPL's
joint tree and T-pose); pass an SMPL / SMPL-H / SMPL-X file or folder to use your own.
"""

from hoirecon.body.joint_names import (
    SMPL_BODY_JOINT_NAMES,
    SMPL_JOINT_NAMES,
    SMPLH_JOINT_NAMES,
    SMPLX_JOINT_NAMES,
)
from hoirecon.body.lbs import (
    BodyOutput,
    ChainOutput,
    blend_shapes,
    chain_transforms,
    kinematic_levels,
    lbs,
    pose_features,
    regress_joints,
    skin_vertices,
)
from hoirecon.body.loading import find_model_file, load_body_model
from hoirecon.body.model import GENDERS, MODEL_TYPES, BodyModel
from hoirecon.body.model_file import read_model_file, validate_model_arrays

__all__ = [
    "GENDERS",
    "MODEL_TYPES",
    "SMPLH_JOINT_NAMES",
    "SMPLX_JOINT_NAMES",
    "SMPL_BODY_JOINT_NAMES",
    "SMPL_JOINT_NAMES",
    "BodyModel",
    "BodyOutput",
    "ChainOutput",
    "blend_shapes",
    "chain_transforms",
    "find_model_file",
    "kinematic_levels",
    "lbs",
    "load_body_model",
    "pose_features",
    "read_model_file",
    "regress_joints",
    "skin_vertices",
    "validate_model_arrays",
]
