"""End-to-end acceptance of the post-optimisation on a synthetic split (fixed seed).

Synthesises a baseball-bat split, trains a small 2D-supervised prior on its training images,
fits the test images with ``none`` / ``prior`` / ``prior+contact`` and scores them with the
WildHOI protocol. The object translation error (human frame) is what the prior exists to fix:
``none`` keeps the body estimate's wrong depth, so the object floats at the wrong distance.

The evidence is the generator's default (``realistic``: detector-like COCO-17 keypoints, noisy
masks, an HMR-like body from which the camera is derived). On this split (median object
translation error) ``none`` gives 63.8 cm, ``prior`` 34.1 cm (ratio 0.53) and ``prior+contact``
30.4 cm (0.48; 25.7 cm before the contact loss followed eq. 14 at its re-tuned weight): the pair
halves the error, the prior alone does not (it did, 0.44, on the earlier too-clean evidence), so
the prior-only test asks for a cut of at least a third.
"""


import pytest
import torch

from hoirecon.demo.presets import PresetMedians, preset_medians

CATEGORY = "baseball_bat"
Medians = dict[str, tuple[float, float]]


@pytest.fixture(scope="module")
def medians(tmp_path_factory: pytest.TempPathFactory) -> Medians:
    """Median (translation error cm, SMPL chamfer cm) per preset; ``init`` is the unoptimised start."""
    torch.set_num_threads(1)
    found: dict[str, PresetMedians] = preset_medians(tmp_path_factory.mktemp("accept"), CATEGORY, 0,
                                                     ("init", "none", "prior", "prior+contact"))
    for name, m in found.items():
        assert m.scored >= 20, f"{name}: only {m.scored} of 24 test images were scored"
    return {name: (m.translation_cm, m.smpl_cd_cm) for name, m in found.items()}


@pytest.mark.slow
def test_prior_cuts_the_object_translation_error_by_a_third(medians: Medians) -> None:
    assert medians["prior"][0] <= 0.67 * medians["none"][0], medians


@pytest.mark.slow
def test_prior_and_contact_halve_the_object_translation_error(medians: Medians) -> None:
    assert medians["prior+contact"][0] <= 0.5 * medians["none"][0], medians


@pytest.mark.slow
def test_body_error_does_not_grow_over_its_initialisation(medians: Medians) -> None:
    for name in ("prior", "prior+contact"):
        assert medians[name][1] <= 1.05 * medians["init"][1], (name, medians)
