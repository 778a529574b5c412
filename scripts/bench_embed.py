"""Benchmark of the extraction code (make bench): images per second, side by side, in one run.

Random-init ViT-B-32 over 256 synthetic 224x224 images on this machine's CPU (or GPU):
* model_only: the forward pass alone on pre-made tensors (the limit);
* extract:    modality_gap.embed.embed_images as the rule runs it (DataLoader, loader_workers(threads));
* naive:      each image preprocessed in the main process, batches of 64, no workers.
Prints ``name: value`` lines, ending with the ratios extract_vs_model_only and extract_vs_naive.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from modality_gap.datasets import read_dataset  # noqa: E402
from modality_gap.embed import choose_device, embed_images, loader_workers  # noqa: E402
from modality_gap.models import load_model  # noqa: E402
from modality_gap.sources import prepare  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256, help="images")
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats of each variant (best is kept)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = choose_device()
    spec = {"kind": "open_clip", "arch": args.arch, "weights": "random", "seed": 0, "preprocess": "model"}
    model = load_model(spec, device=device)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        prepare(root, {"source": "synthetic_captions", "n_train": args.n, "n_val": 1, "image_size": 224,
                       "max_shapes": 2, "noise": 0.05, "mismatch_rate": 0.0, "seed": 0}, "bench")
        ds = read_dataset(root).split("train")
        bs = args.batch_size

        def model_only():
            with torch.inference_mode():
                for s in range(0, len(tensors), bs):
                    model.encode_image(tensors[s : s + bs].to(device))

        def extract():
            embed_images(model, ds, device, batch_size=bs, num_workers=loader_workers(args.threads, device))

        def naive():
            with torch.inference_mode():
                for s in range(0, len(ds), bs):
                    x = torch.stack([model.preprocess(ds.load_image(i)) for i in range(s, min(s + bs, len(ds)))])
                    model.encode_image(x.to(device))

        tensors = torch.stack([model.preprocess(ds.load_image(i)) for i in range(len(ds))])
        model_only()  # warm-up
        rates = {}
        for name, fn in (("model_only", model_only), ("extract", extract), ("naive", naive)):
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - t0)
            rates[name] = len(ds) / best
    print(f"device: {device}")
    print(f"threads: {args.threads}")
    print(f"loader_workers: {loader_workers(args.threads, device)}")
    print(f"images: {args.n}")
    for name, r in rates.items():
        print(f"{name}_images_per_s: {r:.2f}")
    print(f"extract_vs_model_only: {rates['extract'] / rates['model_only']:.3f}")
    print(f"extract_vs_naive: {rates['extract'] / rates['naive']:.3f}")


if __name__ == "__main__":
    main()
