"""Build the default priors shipped in ``src/hoirecon/prior/defaults/`` (one per built-in category).

Reproducible: the embedded synthetic generator makes ``--train`` training and ``--test`` test
images per category at ``--image-size`` px with the ``realistic`` evidence preset from ``--seed``;
each category's prior is trained on the training images' 2D evidence only (2D-KNN groups, like
``hoirecon train``) with a small flow, then the category's mean occlusion maps (from the same
training images' silhouettes) are stored in it, so the contact term works on one photo.

The shipped file holds the trained weights rounded to float16 and gzip-compressed (a few hundred
KB per category); the script measures what the rounding changes (largest change of log p over the
test images' own observed 2.5D vectors, in nats) and the prior's best-of-16 error on the test split, and
writes both with every setting to ``manifest.json`` (the seconds each category took are logged). Interrupted runs resume: the synthetic data
and each category's training keep their checkpoints under ``--work``.

    python tools/train_default_priors.py [--train 384] [--epochs 60] [--seed 0] [--work .default-priors]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.io.atomic import atomic_write_bytes, atomic_write_json
from hoirecon.io.provenance import config_hash
from hoirecon.objects import CATEGORIES
from hoirecon.prior import EncoderConfig, FlowConfig, TrainConfig
from hoirecon.prior.builtin import DEFAULTS_FOLDER, MANIFEST_FILE, default_prior_file
from hoirecon.prior.category import train_category
from hoirecon.prior.prior import add_occlusion_maps, load_prior, prior_from_dict
from hoirecon.prior.training_data import observations, observed_x25d

log = logging.getLogger("train_default_priors")
FLOW = FlowConfig(depth=4, width=64, hidden_layers=2)
"""The small flow of the default priors (the paper's is depth 8, width 512)."""
ENCODER = EncoderConfig(name="keypoints", features=64, width=128, hidden_layers=1)
"""Their keypoint condition encoder."""


def train_config(epochs: int, seed: int) -> TrainConfig:
    """The training configuration of every default prior."""
    return TrainConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=seed, flow=FLOW, encoder=ENCODER, patience=8)


def half_file(prior_path: Path, metadata: dict) -> bytes:
    """The prior file's bytes with floating weights rounded to float16, gzip-compressed."""
    prior = load_prior(prior_path)
    data = prior.to_file_dict(metadata)
    data["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in data["state_dict"].items()}
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def rounding_change(prior_path: Path, shipped: bytes, data_dir: Path, category: str) -> float:
    """Largest |log p(full) - log p(shipped)| in nats over the test images' own observed 2.5D vectors."""
    full = load_prior(prior_path)
    small = prior_from_dict(torch.load(io.BytesIO(gzip.decompress(shipped)), weights_only=True))
    samples = list(load_dataset(data_dir).samples(category, "test"))
    x25d, obs = observed_x25d(samples)[:, None].float(), observations(samples)
    with torch.no_grad():
        return float((full.log_prob(obs, x25d) - small.log_prob(obs, x25d)).abs().max())


def build_category(category: str, data_dir: Path, work: Path, out: Path, config: TrainConfig) -> dict:
    """Train, add the occlusion maps, write the shipped file; returns the manifest entry."""
    started = time.perf_counter()
    trained = work / f"{category}.pt"
    summary = train_category(data_dir, category, trained, config)
    data = load_dataset(data_dir)
    maps = compute_occlusion_maps(data, category)
    # the scratch folder's path means nothing to a user of the package: record the data by its hash
    dataset = {"generator": "hoirecon.data.synthetic", "hash": data.content_hash()}
    maps.provenance = {"dataset": dataset, "category": category, "split": "train"}
    add_occlusion_maps(trained, maps)
    settings = asdict(config)
    metadata = {"supervision": config.supervision, "epochs": summary.epochs, "default_prior": True,
                "provenance": {"dataset": dataset, "category": category, "config": settings,
                               "config_hash": config_hash(settings)}}
    shipped = half_file(trained, metadata)
    atomic_write_bytes(out / default_prior_file(category), shipped)
    log.info("%s: %.1f s in this run (a resumed run counts only its own part)", category, time.perf_counter() - started)
    return {"file": default_prior_file(category), "bytes": len(shipped), "sha256": hashlib.sha256(shipped).hexdigest(),
            "epochs_run": summary.epochs, "best_val_nll": summary.best_val_nll,
            "best_of_16_median_cm": None if summary.best_of_16_m is None else round(100 * summary.best_of_16_m, 2),
            "float16_log_p_change_max_nats": round(rounding_change(trained, shipped, data_dir, category), 4),
            "occlusion_images": maps.num_images, "occlusion_skipped": len(maps.skipped)}


def main() -> None:
    """Parse the arguments, synthesise the data, build every category's default prior, write the manifest."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=384, help="training images per category")
    parser.add_argument("--test", type=int, default=32, help="test images per category (best-of-16 check)")
    parser.add_argument("--image-size", type=int, default=128, help="synthetic image size, pixels")
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (early stopping may end sooner)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of the training")
    parser.add_argument("--categories", nargs="*", default=list(CATEGORIES), help="categories whose prior to build (the data holds all)")
    parser.add_argument("--work", type=Path, default=Path(".default-priors"), help="scratch folder (resumable)")
    parser.add_argument("--out", type=Path, default=DEFAULTS_FOLDER, help="where the shipped files go")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)  # small tensors: a second thread only adds contention on a shared machine
    # the data always holds every built-in category, so building some priors again reuses (and
    # reproduces) the same images
    synth = SynthConfig(categories=CATEGORIES, train=args.train, test=args.test, seed=args.seed,
                        image_size=args.image_size, observation="realistic", workers=1)
    data_dir = generate(args.work / "data", synth)
    config = train_config(args.epochs, args.seed)
    manifest_path = args.out / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    entries = manifest.get("categories", {})
    for category in args.categories:
        entries[category] = build_category(category, data_dir, args.work, args.out, config)
        log.info("%s: %s", category, entries[category])
        manifest = {
            "trained_on": "the embedded synthetic generator (hoirecon.data.synthetic), realistic evidence preset; "
                          "2D evidence only (2D-KNN groups), no 3D labels",
            "data": {"train_images_per_category": args.train, "test_images_per_category": args.test,
                     "image_size": args.image_size, "observation": "realistic", "seed": args.seed},
            "train": {"epochs": args.epochs, **{k: v for k, v in asdict(config).items() if k != "epochs"}},
            "seed": args.seed, "storage": "float16 weights, gzip-compressed torch file",
            "script": "tools/train_default_priors.py", "categories": dict(sorted(entries.items())),
        }
        atomic_write_json(manifest_path, manifest)
    total = sum(e["bytes"] for e in entries.values())
    log.info("wrote %d default priors, %.2f MB in all", len(entries), total / 1e6)


if __name__ == "__main__":
    main()
