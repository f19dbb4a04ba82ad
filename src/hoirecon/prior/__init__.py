"""The human-object spatial-relation prior learned from 2D images (paper section 3.2).

Pipeline, one file per idea:

* ``distances`` / ``search`` / ``grouping``: eq. (11) ray distances, exact and approximate KNN,
  and the groups of eq. (12) with their loss weights;
* ``transforms`` / ``flow``: the Glow-style conditional normalizing flow (eq. 8-9) on zuko;
* ``encoders``: what the flow is conditioned on; ``backbones`` / ``features``: frozen ImageNet
  backbones and the cached features of image crops that image encoders take;
* ``layout`` / ``augment`` / ``training_set`` / ``train``: training on arrays (eq. 10);
* ``prior``: a trained prior as one file; ``maps``: the category's mean occlusion maps it may carry;
  ``builtin``: the small default priors shipped with the package; ``evaluate``: best-of-n errors;
* ``synthetic``: synthetic clustered interactions for tests, benchmarks and demos.
"""

from hoirecon.prior.encoders import (
    ENCODERS,
    EncoderConfig,
    build_encoder,
    register_encoder,
)
from hoirecon.prior.evaluate import BestOfN, best_of_n_error, point_to_ray_error
from hoirecon.prior.flow import ConditionalFlow, FlowConfig, FlowOutput
from hoirecon.prior.grouping import (
    Grouping,
    GroupingConfig,
    group_images,
    neighbour_weights,
    recall_at_k,
)
from hoirecon.prior.layout import SMPL_FLIP, SMPL_JOINT_NAMES, KeypointLayout
from hoirecon.prior.prior import Prior, load_prior
from hoirecon.prior.synthetic import SyntheticInteractions, synthetic_interactions
from hoirecon.prior.train import Progress, TrainResult, train_prior
from hoirecon.prior.train_config import TrainConfig

__all__ = [
    "ENCODERS",
    "SMPL_FLIP",
    "SMPL_JOINT_NAMES",
    "BestOfN",
    "ConditionalFlow",
    "EncoderConfig",
    "FlowConfig",
    "FlowOutput",
    "Grouping",
    "GroupingConfig",
    "KeypointLayout",
    "Prior",
    "Progress",
    "SyntheticInteractions",
    "TrainConfig",
    "TrainResult",
    "best_of_n_error",
    "build_encoder",
    "group_images",
    "load_prior",
    "neighbour_weights",
    "point_to_ray_error",
    "recall_at_k",
    "register_encoder",
    "synthetic_interactions",
    "train_prior",
]
