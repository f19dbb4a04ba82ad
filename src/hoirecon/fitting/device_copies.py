"""One copy of each shared model (body model, fitting prior) per device, made once per run.

The fit's optimisation and its extra terms (the PHOSA baseline) run on the batch's device while
the initialisation and the contact sets keep using the caller's CPU model; both stages ask here
for the device copy, so a model is copied to a device once, not once per batch or per stage.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any

import torch

_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per shared model, its copy on each device (dropped with the model)."""


def model_on_device(model: Any, device: torch.device) -> Any:
    """``model`` (a torch module, or an object with ``to(device)`` such as a FittingPrior) on
    ``device``: itself on the CPU, else a cached copy, so the caller's model stays where it was."""
    if device.type == "cpu":
        return model
    copies = _COPIES.setdefault(getattr(model, "prior", model), {})  # a FittingPrior is keyed by its Prior
    if device not in copies:
        copies[device] = model.to(device) if not isinstance(model, torch.nn.Module) else copy.deepcopy(model).to(device)
    return copies[device]
