"""Synthetic in-the-wild HOI data with known ground truth (the embedded default dataset)."""
