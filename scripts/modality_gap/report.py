"""What the report shows, in paper order: every figure and table with one paragraph each.

The report notebook (``scripts/report_notebook.ipynb``, executed by papermill) walks
:data:`SECTIONS`; a file pattern that matches nothing is listed as "not run in this
configuration" rather than failing, so the same notebook serves the paper setup and the demo.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EVIDENCE_PREFIXES", "Item", "SECTIONS", "find_items", "preview_png"]

#: File-name prefixes of the result tables the claims read: the inputs of the claims_ledger rule.
#: (Here, not in claims.py, because the Snakefile reads it while it builds the DAG: no heavy imports.)
EVIDENCE_PREFIXES = (
    "Figure6_cone_statistics_", "Figure2b_", "Figure2c_", "Theorem2_", "gap_metrics", "Figure3_landscape_minimum_",
    "Figure3_Figure9_sphere_barrier", "Section4.4_", "Figure8_", "Figure16_", "Mismatch_", "Table1_", "Table5_",
    "Table4_denigration.csv",
)


@dataclass(frozen=True)
class Item:
    """A figure (``.png``) or table (``.csv``) pattern under the results folder and its paragraph."""

    pattern: str
    text: str


SECTIONS: tuple[tuple[str, tuple[Item, ...]], ...] = (
    ("Figure 1: the modality gap", (
        Item("figures/Figure1_*_umap.png",
             "UMAP of matched image and text embeddings (released embeddings of four systems; the workflow's own "
             "models). The two modalities sit in separate regions in every model: the modality gap."),
        Item("tables/gap_metrics.csv",
             "The gap as numbers: centroid distance with a bootstrap 95% interval, matched-pair distance and "
             "cosine, and the accuracy of a linear probe separating the modalities."),
    )),
    ("Section 2: the cone effect", (
        Item("figures/Figure2a_cosine_histograms.png",
             "Figure 2a: histograms of the cosine between all pairs of embeddings, pretrained and random towers, "
             "on real data and on noise. Means well above 0 mean the embeddings fill a narrow cone."),
        Item("tables/Figure6_cone_statistics_Figure2a.csv",
             "Figure 6 in numbers: mean, spread and extremes of each histogram, beside the published means."),
        Item("figures/Figure2b_depth_nonlinearity.png",
             "Figure 2b: the mean cosine after each layer of random MLPs. Nonlinear layers shrink the angles, "
             "deeper networks more; the linear network does not."),
        Item("figures/Figure2c_seed_cones_umap.png",
             "Figure 2c: embeddings of the same inputs under different random initialisations, coloured by seed. "
             "Each seed forms its own cone, which is why a two-tower model starts with a gap."),
        Item("tables/Figure2c_seed_cones.csv",
             "How distinct the cones are: accuracy of predicting the seed from a single embedding and the share "
             "of variance between seeds."),
        Item("figures/Figure5_seed_cones_noise_umap.png", "Figure 5: the same on random-noise inputs."),
        Item("figures/Figure7_seed_cones_pca.png", "Figure 7: the same as Figure 2c with PCA instead of UMAP."),
        Item("figures/Figure14_cosine_histograms.png",
             "Figure 14: Figure 2a repeated on a classification data set."),
    )),
    ("Section 3: theory", (
        Item("figures/Theorem1_cosine_increase.png",
             "Theorem 1, checked by simulation: the probability that a random Linear+ReLU layer raises the cosine "
             "of two inputs, where the theorem's condition holds and where it does not."),
        Item("figures/Theorem2_variance_share.png",
             "Theorem 2: the share of embedding variance due to the random initialisation, against the "
             "theorem's lower bound beta, by depth."),
    )),
    ("Section 4: contrastive learning preserves the gap", (
        Item("figures/Figure3bcd_loss_landscape_*.png",
             "Figure 3b-d: the contrastive loss as the embeddings are shifted to close or widen the gap. At a "
             "low temperature the original gap is the minimum; at tau = 1 closing the gap lowers the loss."),
        Item("figures/Figure3e_sphere_mismatch.png",
             "Figure 3e: six image-text pairs on a 3-D sphere, two of them mismatched."),
        Item("figures/Figure9a_sphere_no_mismatch.png", "Figure 9a: the same without mismatched pairs."),
        Item("figures/Figure3g_Figure9b_sphere_loss.png",
             "Figures 3g and 9b: the loss as the texts move from the north to the south pole. With mismatched "
             "pairs and a low temperature the loss rises before the gap closes (repulsion); without, it does not."),
        Item("tables/Figure3_Figure9_sphere_barrier.csv",
             "The loss barrier against closing the gap, per logit scale, with and without mismatch."),
        Item("figures/Figure4_*_svd.png",
             "Figure 4: the embeddings projected on their two leading singular directions."),
        Item("figures/Section4.4_gap_during_training.png",
             "Section 4.4: the gap during training from the usual initialisation and from one amended to start "
             "without a gap. Training reopens the gap, but less far: initialisation and optimisation both matter."),
        Item("tables/Section4.4_initialisation.csv",
             "The same in numbers, mean and 95% interval over seeds, beside the paper's."),
        Item("figures/Figure8_finetune_temperature.png",
             "Figure 8: the gap after fine-tuning at fixed temperatures; a higher temperature leaves a smaller gap."),
        Item("figures/Figure16_embedding_dimension.png",
             "Figure 16: the gap after training with different embedding dimensions."),
        Item("figures/Mismatch_temperature_sweep.png",
             "Beyond the paper: the gap after training on data with a share of swapped captions, by temperature."),
    )),
    ("Section 5: implications", (
        Item("figures/Figure10_zero_shot_vs_gap.png",
             "Figure 10: zero-shot performance as images and class prompts are shifted along the gap."),
        Item("figures/Table1_zero_shot.png",
             "Table 1: the original and the best-shift performance (chosen on the test set, as the paper), and "
             "the honest counterpart with the shift chosen on held-out images."),
        Item("figures/Table5_significance.png",
             "Table 5: the paper's chi-squared test and McNemar's paired test of the improvement."),
        Item("figures/Table2_Table4_denigration.png",
             "Tables 2 and 4: the share of images whose top-1 class is harmful, per group, at each gap."),
        Item("figures/Table2_denigration.png", "Table 2: the original and the modified gap."),
        Item("figures/Table4_denigration.png", "Table 4: every gap setting, including too small and too large."),
    )),
    ("Data", (
        Item("data/datasets.csv", "The prepared data sets."),
        Item("data/preview_*.png", "A contact sheet of each data set."),
    )),
)


def find_items(results: str | os.PathLike, pattern: str) -> list[Path]:
    """Files under ``results`` matching ``pattern`` (``folder/name``, the name shell-style), sorted."""
    root = Path(results)
    folder, _, name = pattern.rpartition("/")
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, name))


def preview_png(path: str | os.PathLike, colors: int = 256) -> bytes:
    """The PNG at ``path`` with its colours reduced to a ``colors``-entry palette, as PNG bytes.

    The report embeds every figure; flat-coloured plots lose nothing visible in a 256-colour
    palette, and the HTML shrinks to about 40% (the full-colour originals are linked beside each).
    """
    import io

    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        small.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
