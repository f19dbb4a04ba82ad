"""The rows the RHOBIN 2023 challenge report publishes (Tables 2-4), keyed like our metrics.

They were measured on the BEHAVE test set with the official evaluator and SMPL-H bodies: a row of
ours sits beside them only to read the scale of the numbers, never as a comparison, unless ours
was also made on that test set with the official body models.
"""

from __future__ import annotations

PUBLISHED_RHOBIN: dict[str, tuple[tuple[str, dict[str, float]], ...]] = {
    "object": (  # Table 2; MSSD printed as 0.5 / 0.2, apparently in metres (ours are mm)
        ("CHORE", {"mssd_mm": 500.0, "mspd_px": 110.0, "re_deg": 43.0, "mssd_ar": 0.2, "mspd_ar": 0.3,
                   "re_ar": 0.4, "ar_all": 0.3}),
        ("G2DR", {"mssd_mm": 200.0, "mspd_px": 54.5, "re_deg": 21.2, "mssd_ar": 0.6, "mspd_ar": 0.6,
                  "re_ar": 0.5, "ar_all": 0.6}),
    ),
    "human": (  # Table 3
        ("CHORE", {"mpjpe_mm": 100.8, "mpjpe_pa_mm": 55.6, "pck": 26.6, "auc": 0.5, "mpjae_deg": 19.6,
                   "mpjae_pa_deg": 15.9}),
        ("BEV-HybrIK", {"mpjpe_mm": 30.02, "mpjpe_pa_mm": 24.33, "pck": 80.72, "auc": 0.84, "mpjae_deg": 9.58,
                        "mpjae_pa_deg": 9.37}),
        ("BEV-HybrIK (augm.)", {"mpjpe_mm": 28.16, "mpjpe_pa_mm": 22.01, "pck": 82.97, "auc": 0.85,
                                "mpjae_deg": 9.2, "mpjae_pa_deg": 8.92}),
        ("BEV-HybrIK (augm. + ensemble)", {"mpjpe_mm": 24.1, "mpjpe_pa_mm": 18.4, "pck": 88.6, "auc": 0.9,
                                           "mpjae_deg": 8.3, "mpjae_pa_deg": 8.1}),
    ),
    "joint": (  # Table 4
        ("PHOSA", {"smpl_cd_mm": 121.7, "object_cd_mm": 266.2}),
        ("CHORE", {"smpl_cd_mm": 55.8, "object_cd_mm": 106.6}),
        ("KHOR", {"smpl_cd_mm": 45.1, "object_cd_mm": 87.2}),
    ),
}
"""Track -> (method, metric key -> value) rows of the report."""
PUBLISHED_NOTES = {
    "object": "the report prints MSSD as 0.5 (CHORE) and 0.2 (G2DR), read here as metres; its MSPD-AR "
              "thresholds go to 100 px where the official code uses 200 px",
}


def published_rows(track: str) -> tuple[tuple[str, dict[str, float]], ...]:
    """The report's rows of ``track`` ('object', 'human', 'joint')."""
    if track not in PUBLISHED_RHOBIN:
        raise ValueError(f"track: expected one of {', '.join(PUBLISHED_RHOBIN)}, got {track!r}")
    return PUBLISHED_RHOBIN[track]
