"""The paper's published rows (Tables 2, 3 and 4), shown beside ours in a separate, marked block.

They were measured on real images (BEHAVE for Table 2, WildHOI for Tables 3 and 4) with the
paper's own networks; our rows are measured on synthetic splits. They are not directly
comparable: the block is there to show which ordering of rows the paper found.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedTable:
    """Rows of one table of the paper, with the protocol and units they were measured in."""

    source: str
    """Where in the paper."""
    protocol: str
    """Data set and protocol, in words."""
    columns: tuple[tuple[str, str], ...]
    """(metric key of our evaluation, column title with its unit)."""
    rows: tuple[tuple[str, str, tuple[float, ...]], ...]
    """(paper's row label, our matching row or '', values in column order)."""


TABLE_2 = PublishedTable(
    "Table 2 (ablation on supervisions)",
    "BEHAVE test key frames; chamfer distance after Procrustes alignment of body and object together, 10k samples",
    (("smpl_cd_cm", "SMPL (cm)"), ("object_cd_cm", "Obj. (cm)")),
    (("3D supervision", "3d", (4.34, 10.23)),
     ("2D, ground-truth grouping", "2d-gt-groups", (4.51, 10.99)),
     ("2D, KNN grouping", "2d-knn", (4.55, 11.32))),
)
"""Paper Table 2 (BEHAVE)."""

TABLE_3 = PublishedTable(
    "Table 3 (WildHOI, object correspondences rendered from the pose labels)",
    "WildHOI test set; human frame, no alignment, 10k samples",
    (("smpl_cd_cm", "SMPL (cm)"), ("object_cd_cm", "Obj. (cm)"), ("rot_err_deg", "Rot. (deg)"),
     ("trans_err_cm", "Transl. (cm)")),
    (("PHOSA", "labels / phosa", (4.72, 50.08, 11.90, 33.22)),
     ("Ours (prior + contact)", "labels / prior+contact", (4.43, 17.48, 10.12, 13.13))),
)
"""Paper Table 3 (WildHOI)."""

TABLE_4 = PublishedTable(
    "Table 4 (ablation on the optimisation losses)",
    "WildHOI test set; human frame, no alignment, 10k samples",
    TABLE_3.columns,
    (("no prior, no contact", "none", (3.57, 1259.57, 7.12, 658.16)),
     ("contact only", "contact", (3.71, 363.40, 6.47, 195.62)),
     ("prior only", "prior", (4.36, 19.37, 10.26, 14.26)),
     ("prior + contact", "prior+contact", (4.43, 17.48, 10.12, 13.13))),
)
"""Paper Table 4 (WildHOI)."""
