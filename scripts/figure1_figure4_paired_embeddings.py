"""Rule figure1_figure4_paired_embeddings: matched pairs in 2-D (Figure 1: UMAP, Figure 4: SVD)."""

from modality_gap.figures_gap import plot_paired_embeddings
from modality_gap.pairs import load_pairs
from modality_gap.plotting import save_figure
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
SYSTEMS = {"clip": "CLIP", "videoclip": "VideoCLIP", "convirt": "ConVIRT", "clasp": "CLASP"}


def title_of(source: str) -> str:
    """'paper_clip_random' -> 'CLIP (random init)'; '<model>--<dataset>' -> '<model>\n<dataset>'."""
    if source.startswith("paper_"):
        system, _, random = source.removeprefix("paper_").partition("_")
        return SYSTEMS.get(system, system) + (" (random init)" if random else " (pre-trained)")
    return source.replace("--", "\n")


panels = []
for source, path in zip(p.titles, snakemake.input):
    x, y = load_pairs(path, p.split)
    panels.append((title_of(source), x, y))
fig = plot_paired_embeddings(panels, method=snakemake.wildcards.method, seed=p.seed)
save_figure(fig, snakemake.output[0])
