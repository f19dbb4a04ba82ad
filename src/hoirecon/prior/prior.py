"""A trained interaction prior: condition encoder + conditional flow + keypoint layout.

``p(X2.5D | I)`` of the paper, where the image ``I`` is represented by its observations
``(B, K, 3)`` (normalised ``u, v`` and a confidence per keypoint, 22 SMPL joints then the object
keypoints) and, for image encoders, a frozen backbone's feature of the image ``(B, F)``. A prior
is stored as one file (``torch.save`` of plain data and tensors, loadable with
``weights_only=True``) holding the configs, the weights, the input normalisation and the layout;
an image encoder's file names its backbone but holds only the trained head, as the backbone's
pretrained weights come from their own package or file. A prior file may also carry the
category's mean occlusion maps for the contact term (``hoirecon.prior.maps``); files written
before they were stored load as before, with ``occlusion`` None.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor, nn

from hoirecon.io.atomic import atomic_path
from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.prior.encoders import EncoderConfig, build_encoder
from hoirecon.prior.flow import ConditionalFlow, FlowConfig
from hoirecon.prior.layout import KeypointLayout
from hoirecon.prior.maps import maps_from_dict, maps_to_dict

FORMAT = "hoirecon-prior"
"""Value of the ``format`` key of a prior file."""
VERSION = 1
"""Version of the prior file layout."""


def atomic_save(obj: object, path: str | Path) -> None:
    """``torch.save`` atomically: a failure leaves ``path`` as it was."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class Prior(nn.Module):
    """Conditional density of 2.5D representations ``(K + 1, 3)`` given an image's observations."""

    def __init__(self, flow_config: FlowConfig, encoder_config: EncoderConfig,
                 layout: KeypointLayout) -> None:
        super().__init__()
        self.layout = layout
        self.encoder_config = encoder_config
        self.encoder = build_encoder(encoder_config, layout.n_keypoints)
        features = 3 * (layout.n_keypoints + 1)
        if flow_config.features not in (0, features):
            raise ValueError(f"flow_config: features {flow_config.features} does not match "
                             f"{layout.n_keypoints} keypoints (expected {features})")
        self.flow_config = FlowConfig(**{**asdict(flow_config), "features": features,
                                         "condition": self.encoder.features})
        self.flow = ConditionalFlow(self.flow_config)
        self.metadata: dict = {}
        self.occlusion: OcclusionMaps | None = None
        """The category's mean occlusion maps (for the contact term), when the file carries them."""

    @property
    def n_keypoints(self) -> int:
        """Number ``K`` of keypoints (22 body + object)."""
        return self.layout.n_keypoints

    def _check_observations(self, observations: Tensor) -> None:
        if observations.dim() != 3 or observations.shape[1:] != (self.n_keypoints, 3):
            raise ValueError(f"observations: expected shape (B, {self.n_keypoints}, 3), "
                             f"got {tuple(observations.shape)}")

    @property
    def backbone(self) -> str | None:
        """Backbone whose image features the condition needs (None: keypoints only)."""
        return self.encoder.backbone

    def condition(self, observations: Tensor, observed_x25d: Tensor | None = None,
                  features: Tensor | None = None) -> Tensor:
        """Condition features ``(B, C)`` of observations ``(B, K, 3)`` (and, if the encoder uses
        them, the image's own 2.5D vectors ``(B, K + 1, 3)`` and backbone features ``(B, F)``)."""
        self._check_observations(observations)
        return self.encoder(observations, observed_x25d, features)

    def log_prob(self, observations: Tensor, x25d: Tensor,
                 observed_x25d: Tensor | None = None, features: Tensor | None = None) -> Tensor:
        """``log p(x25d | image)`` in nats: ``observations (B, K, 3), x25d (B, M, K + 1, 3) -> (B, M)``.

        Differentiable in ``x25d`` (the prior loss of the post-optimisation). ``features (B, F)``:
        the images' backbone features, needed by image encoders (see :attr:`backbone`).
        """
        if x25d.dim() != 4 or x25d.shape[0] != observations.shape[0] \
                or x25d.shape[2:] != (self.n_keypoints + 1, 3):
            raise ValueError(f"x25d: expected shape ({observations.shape[0]}, M, "
                             f"{self.n_keypoints + 1}, 3), got {tuple(x25d.shape)}")
        condition = self.condition(observations, observed_x25d, features)
        return self.flow.log_prob(x25d.flatten(-2), condition.unsqueeze(1))

    @torch.no_grad()
    def sample(self, observations: Tensor, n: int, observed_x25d: Tensor | None = None,
               temperature: float = 1.0, generator: torch.Generator | None = None,
               features: Tensor | None = None) -> Tensor:
        """Draw ``n`` 2.5D vectors per image: ``observations (B, K, 3) -> (B, n, K + 1, 3)``.

        The ray rows are re-normalised to unit length; the last row is the camera centre.
        No gradients are tracked (samples initialise virtual cameras; densities are what gets
        differentiated, through :meth:`log_prob`). ``features (B, F)`` as in :meth:`log_prob`.
        """
        condition = self.condition(observations, observed_x25d, features)
        flat = self.flow.sample(condition, n, temperature, generator)
        x25d = flat.unflatten(-1, (self.n_keypoints + 1, 3))
        rays = torch.nn.functional.normalize(x25d[..., :-1, :], dim=-1)
        return torch.cat([rays, x25d[..., -1:, :]], dim=-2)

    def to_file_dict(self, metadata: dict | None = None) -> dict:
        """Plain data + tensors for ``torch.save``."""
        return {"format": FORMAT, "version": VERSION, "flow_config": asdict(self.flow_config),
                "encoder_config": asdict(self.encoder_config), "backbone": self.backbone,
                "layout": self.layout.to_dict(),
                "state_dict": self.state_dict(), "metadata": metadata or {},
                "occlusion": None if self.occlusion is None else maps_to_dict(self.occlusion)}

    def save(self, path: str | Path, metadata: dict | None = None) -> None:
        """Write the prior to one file, atomically."""
        atomic_save(self.to_file_dict(metadata), path)


def prior_from_dict(data: dict) -> Prior:
    """Rebuild a :class:`Prior` from :meth:`Prior.to_file_dict` output."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"prior: not a {FORMAT} file")
    if data.get("version") != VERSION:
        raise ValueError(f"prior: unsupported version {data.get('version')} (expected {VERSION})")
    prior = Prior(FlowConfig(**data["flow_config"]), EncoderConfig(**data["encoder_config"]),
                  KeypointLayout.from_dict(data["layout"]))
    prior.load_state_dict(data["state_dict"])
    prior.metadata = data.get("metadata", {})
    if data.get("occlusion") is not None:
        prior.occlusion = maps_from_dict(data["occlusion"])
    return prior.eval()


def _read(path: Path) -> object:
    """``torch.load`` of a prior file, gunzipped first when its name ends in ``.gz`` (the shipped
    default priors are stored so)."""
    if path.suffix == ".gz":
        return torch.load(io.BytesIO(gzip.decompress(path.read_bytes())), map_location="cpu", weights_only=True)
    return torch.load(path, map_location="cpu", weights_only=True)


def load_prior(path: str | Path) -> Prior:
    """Load a prior file written by :meth:`Prior.save` / ``train_prior`` (in eval mode); a
    gzip-compressed file (``.gz``) is read too."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no prior file at {path}")
    try:
        data = _read(path)
    except Exception as error:  # torch raises several types for corrupt files
        first = str(error).strip().split("\n")[0].split(". ")[0][:160]
        raise ValueError(f"{path}: not a readable prior file ({type(error).__name__}: {first})") from error
    try:
        return prior_from_dict(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def add_occlusion_maps(path: str | Path, maps: OcclusionMaps) -> Prior:
    """Store a category's mean occlusion maps in the prior file ``path`` (atomically, replacing
    any it held); returns the prior. ValueError when the maps are of another category than the
    prior's recorded one."""
    prior = load_prior(path)
    recorded = prior.metadata.get("provenance", {}).get("category")
    if recorded is not None and recorded != maps.category:
        raise ValueError(f"{path}: the prior is of category {recorded!r}, the occlusion maps of {maps.category!r}")
    prior.occlusion = maps
    prior.save(path, prior.metadata)
    return prior
