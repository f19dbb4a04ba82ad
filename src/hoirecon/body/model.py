"""`BodyModel`: an SMPL / SMPL-H / SMPL-X body as a torch module of buffers.

The module holds the model's arrays and turns axis-angle pose parameters into the full
joint-rotation stack; the posing itself is `hoirecon.body.lbs.lbs`. The model type
follows from the joint count (24 SMPL, 52 SMPL-H, 55 SMPL-X).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import roma
import torch
from torch import Tensor, nn

from hoirecon.body.joint_names import JOINT_NAMES_BY_TYPE
from hoirecon.body.lbs import BodyOutput, kinematic_levels, lbs, regress_joints
from hoirecon.body.model_file import validate_model_arrays

logger = logging.getLogger(__name__)

MODEL_TYPES: dict[int, str] = {24: "smpl", 52: "smplh", 55: "smplx"}
"""Model type by joint count."""
GENDERS: tuple[str, ...] = ("neutral", "male", "female")
"""Valid genders."""

# Pose arguments per model type, in the joint order of that model: (name, joint count).
_POSE_LAYOUT: dict[str, tuple[tuple[str, int], ...]] = {
    "smpl": (("global_orient", 1), ("body_pose", 23)),
    "smplh": (("global_orient", 1), ("body_pose", 21), ("left_hand_pose", 15),
              ("right_hand_pose", 15)),
    "smplx": (("global_orient", 1), ("body_pose", 21), ("jaw_pose", 1), ("leye_pose", 1),
              ("reye_pose", 1), ("left_hand_pose", 15), ("right_hand_pose", 15)),
}
_SMPL_BODY_JOINTS = 23  # SMPL's body_pose covers 23 joints; the last 2 are its hands.


def normalize_model_type(model_type: str) -> str:
    """Canonical model type ("smpl", "smplh", "smplx") from spellings like "SMPL-X"."""
    key = model_type.lower().replace("-", "").replace("+", "").replace("_", "")
    if key not in _POSE_LAYOUT:
        raise ValueError(f"model_type: unknown {model_type!r}; expected one of "
                         f"{', '.join(_POSE_LAYOUT)}")
    return key


def _split_shape_space(n_total: int, model_type: str) -> tuple[int, int]:
    """Where the expression components start in an SMPL-X ``shapedirs`` of `n_total`
    components (300 in the 400-component release, else 10), and how many there are."""
    if model_type != "smplx":
        return n_total, 0
    start = 300 if n_total >= 400 else min(10, n_total)
    return start, n_total - start


class BodyModel(nn.Module):
    """SMPL-family body model; call it with pose and shape parameters to get a
    `BodyOutput`. Build it with `hoirecon.body.load_body_model`, or from validated
    arrays (see `hoirecon.body.read_model_file`)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], model_type: str | None = None,
                 gender: str = "neutral", num_betas: int = 10, num_expression: int = 10,
                 dtype: torch.dtype = torch.float32, source: str = "<arrays>") -> None:
        super().__init__()
        data = validate_model_arrays(arrays, source)
        self.model_type = self._resolve_type(data["weights"].shape[1], model_type, source)
        self.gender = gender
        self.joint_names: list[str] = list(JOINT_NAMES_BY_TYPE[self.model_type])
        self.faces: np.ndarray = data["f"]
        self.register_buffer("faces_tensor", torch.from_numpy(self.faces))
        parents = torch.from_numpy(data["kintree_table"][0].copy())
        self.register_buffer("parents", parents)
        levels = kinematic_levels(parents)
        self._num_levels = len(levels)
        for depth, level in enumerate(levels):
            self.register_buffer(f"_level{depth}", level, persistent=False)
        self._register_blend_buffers(data, num_betas, num_expression, dtype)
        self.register_buffer("lbs_weights", _tensor(data["weights"], dtype))

    @staticmethod
    def _resolve_type(n_joints: int, model_type: str | None, source: str) -> str:
        """Model type from the joint count, checked against a requested type."""
        inferred = MODEL_TYPES.get(n_joints)
        if model_type is None:
            if inferred is None:
                raise ValueError(f"{source}: {n_joints} joints is not an SMPL-family model "
                                 "(24 SMPL, 52 SMPL-H, 55 SMPL-X)")
            return inferred
        wanted = normalize_model_type(model_type)
        if inferred != wanted:
            raise ValueError(f"{source}: model_type {model_type!r} expects "
                             f"{len(JOINT_NAMES_BY_TYPE[wanted])} joints, the file has "
                             f"{n_joints}")
        return wanted

    def _register_blend_buffers(self, data: Mapping[str, np.ndarray], num_betas: int,
                                num_expression: int, dtype: torch.dtype) -> None:
        """Keep the used shape and expression components and their regressed joints."""
        shapedirs = data["shapedirs"]
        n_shape, n_expr = _split_shape_space(shapedirs.shape[2], self.model_type)
        if num_betas > n_shape:
            logger.warning("num_betas=%d requested but the model has %d shape components; "
                           "using %d", num_betas, n_shape, n_shape)
        self.num_betas = min(num_betas, n_shape)
        self.num_expression = min(num_expression, n_expr)
        basis = torch.from_numpy(np.concatenate(
            [shapedirs[:, :, :self.num_betas],
             shapedirs[:, :, n_shape:n_shape + self.num_expression]], axis=2))
        regressor = torch.from_numpy(data["J_regressor"])
        v_template = torch.tensor(data["v_template"], dtype=torch.float64)
        joint_basis = regress_joints(basis.flatten(1), regressor).unflatten(1, (3, -1))
        self.register_buffer("v_template", v_template.to(dtype))
        self.register_buffer("shapedirs", basis.to(dtype))
        self.register_buffer("joint_template", regress_joints(v_template, regressor).to(dtype))
        self.register_buffer("joint_shapedirs", joint_basis.to(dtype))
        posedirs = data.get("posedirs")
        self.register_buffer("posedirs", None if posedirs is None else _tensor(posedirs, dtype))

    @property
    def num_joints(self) -> int:
        """Number of joints J of the model."""
        return len(self.joint_names)

    @property
    def num_vertices(self) -> int:
        """Number of vertices V of the mesh."""
        return self.v_template.shape[0]

    @property
    def levels(self) -> list[Tensor]:
        """Joint indices grouped by tree depth (see `kinematic_levels`)."""
        return [getattr(self, f"_level{depth}") for depth in range(self._num_levels)]

    def forward(self, betas: Tensor | None = None, body_pose: Tensor | None = None,
                global_orient: Tensor | None = None, transl: Tensor | None = None,
                left_hand_pose: Tensor | None = None, right_hand_pose: Tensor | None = None,
                jaw_pose: Tensor | None = None, leye_pose: Tensor | None = None,
                reye_pose: Tensor | None = None, expression: Tensor | None = None
                ) -> BodyOutput:
        """Pose the body. All arguments are optional (zeros when missing) and share a
        batch size B (size-1 batches broadcast): betas (B, <=num_betas), body_pose
        (B, 63) for the 21 body joints or (B, 69) with SMPL's two hand joints (dropped
        by SMPL-H/X, zero for SMPL when 63 are given), global_orient and transl (B, 3);
        SMPL-H/X: left/right_hand_pose (B, 45); SMPL-X: jaw/leye/reye_pose (B, 3),
        expression (B, <=num_expression). Poses are axis-angle."""
        given = {"betas": betas, "body_pose": body_pose, "global_orient": global_orient,
                 "transl": transl, "left_hand_pose": left_hand_pose,
                 "right_hand_pose": right_hand_pose, "jaw_pose": jaw_pose,
                 "leye_pose": leye_pose, "reye_pose": reye_pose, "expression": expression}
        inputs = self._prepare_inputs(given)
        batch = max([t.shape[0] for t in inputs.values()], default=1)
        shift = (_batched(inputs["transl"], batch, "transl", 3)[:, None]
                 if "transl" in inputs else None)
        rotmats = roma.rotvec_to_rotmat(self._full_pose(inputs, batch))
        out = lbs(self._coefficients(inputs, batch), rotmats, self.v_template,
                  self.shapedirs, self.joint_template, self.joint_shapedirs,
                  self.lbs_weights, self.parents, self.posedirs, self.levels)
        if shift is not None:
            out.vertices = out.vertices + shift
            out.joints = out.joints + shift
        return out

    def _prepare_inputs(self, given: dict[str, Tensor | None]) -> dict[str, Tensor]:
        """Check the given arguments apply to this model type; cast them to (B, D)."""
        allowed = {name for name, _ in _POSE_LAYOUT[self.model_type]} | {"betas", "transl"}
        if self.model_type == "smplx":
            allowed.add("expression")
        dtype = self.v_template.dtype
        inputs = {}
        for name, value in given.items():
            if value is None:
                continue
            if name not in allowed:
                raise ValueError(f"{name}: not an input of a {self.model_type} body model")
            value = torch.as_tensor(value, dtype=dtype, device=self.v_template.device)
            if value.ndim < 2:
                raise ValueError(f"{name}: expected a batch (B, D), got shape "
                                 f"{tuple(value.shape)}")
            inputs[name] = value.flatten(1)
        batches = {t.shape[0] for t in inputs.values()} - {1}
        if len(batches) > 1:
            sizes = {name: t.shape[0] for name, t in inputs.items()}
            raise ValueError(f"inputs have different batch sizes: {sizes}")
        return inputs

    def _full_pose(self, inputs: dict[str, Tensor], batch: int) -> Tensor:
        """Stack the pose arguments into axis-angle rotations (B, J, 3)."""
        parts = []
        for name, n_joints in _POSE_LAYOUT[self.model_type]:
            value = inputs.get(name)
            if name == "body_pose" and value is not None:
                value = self._fit_body_pose(value, n_joints)
            parts.append(_batched(value, batch, name, 3 * n_joints, self.v_template))
        return torch.cat(parts, dim=1).view(batch, -1, 3)

    @staticmethod
    def _fit_body_pose(body_pose: Tensor, n_joints: int) -> Tensor:
        """Accept 21 or 23 body joints: drop SMPL's hand joints or pad them with zeros."""
        size = body_pose.shape[1]
        if size not in (63, 3 * _SMPL_BODY_JOINTS):
            raise ValueError(f"body_pose: expected (B, 63) or (B, 69), got "
                             f"{tuple(body_pose.shape)}")
        if size > 3 * n_joints:
            return body_pose[:, :3 * n_joints]
        return nn.functional.pad(body_pose, (0, 3 * n_joints - size))

    def _coefficients(self, inputs: dict[str, Tensor], batch: int) -> Tensor:
        """Blend coefficients (B, num_betas + num_expression), zero-padded."""
        parts = [_padded(inputs.get("betas"), batch, "betas", self.num_betas,
                         self.v_template)]
        if self.num_expression:
            parts.append(_padded(inputs.get("expression"), batch, "expression",
                                 self.num_expression, self.v_template))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def extra_repr(self) -> str:
        return (f"model_type={self.model_type}, gender={self.gender}, "
                f"num_betas={self.num_betas}, joints={self.num_joints}, "
                f"vertices={self.num_vertices}")


def _tensor(array: np.ndarray, dtype: torch.dtype) -> Tensor:
    """A tensor copy of `array` in `dtype` (never sharing the caller's memory)."""
    return torch.tensor(array, dtype=dtype)


def _batched(value: Tensor | None, batch: int, name: str, size: int,
             like: Tensor | None = None) -> Tensor:
    """`value` (1 or B, size) expanded to (B, size), or zeros like `like` when None."""
    if value is None:
        return like.new_zeros(batch, size)
    if value.shape[1] != size:
        raise ValueError(f"{name}: expected (B, {size}), got {tuple(value.shape)}")
    return value.expand(batch, size)


def _padded(value: Tensor | None, batch: int, name: str, size: int, like: Tensor) -> Tensor:
    """`value` (1 or B, <= size) expanded to B and zero-padded to (B, size)."""
    if value is None:
        return like.new_zeros(batch, size)
    if value.shape[1] > size:
        raise ValueError(f"{name}: the model uses {size} coefficients, got "
                         f"{value.shape[1]}")
    return nn.functional.pad(value, (0, size - value.shape[1])).expand(batch, size)
