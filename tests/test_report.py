"""The report's building blocks: the section list finds files by pattern, figures embed as palette PNGs."""

import io

from matplotlib.figure import Figure
from PIL import Image

from modality_gap.report import SECTIONS, find_items, preview_png


def test_find_items_matches_patterns_and_tolerates_missing_folders(tmp_path):
    (tmp_path / "figures").mkdir()
    for name in ("Figure1_b_umap.png", "Figure1_a_umap.png", "Figure1_a_umap.pdf", "Figure4_a_svd.png"):
        (tmp_path / "figures" / name).write_bytes(b"x")
    assert [p.name for p in find_items(tmp_path, "figures/Figure1_*_umap.png")] == ["Figure1_a_umap.png",
                                                                                  "Figure1_b_umap.png"]
    assert find_items(tmp_path, "tables/gap_metrics.csv") == []


def test_every_section_item_points_into_the_results_tree():
    patterns = [item.pattern for _, items in SECTIONS for item in items]
    assert len(patterns) == len(set(patterns))
    assert all(p.split("/")[0] in {"figures", "tables", "data"} and p.endswith((".png", ".csv")) for p in patterns)
    assert all(item.text.strip() for _, items in SECTIONS for item in items)


def test_preview_png_keeps_the_size_and_shrinks_the_file(tmp_path):
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    for k in range(8):
        ax.plot(range(50), [((i * (k + 1)) % 17) for i in range(50)])
    path = tmp_path / "f.png"
    fig.savefig(path, dpi=200)
    data = preview_png(path)
    with Image.open(io.BytesIO(data)) as small, Image.open(path) as big:
        assert small.size == big.size and small.mode == "P"
    assert len(data) < path.stat().st_size
