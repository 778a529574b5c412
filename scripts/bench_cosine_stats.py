"""Benchmark :func:`modality_gap.cone.cosine_stats` against a bare blocked GEMM.

Prints ``name: value`` lines::

    cosine_stats_seconds   wall time of cosine_stats (validation + normalisation + all blocks)
    gemm_seconds           wall time of a bare float32 X @ X[a:].T over the same row blocks, nothing else
    cosine_stats_vs_gemm   gemm_seconds / cosine_stats_seconds (1.0 = statistics for free)
    cosine_stats_peak_mb   peak RSS of a fresh child process that builds X and runs cosine_stats

Each measurement runs in its own fresh child process (``--child ours|gemm``) so that the peak RSS
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, read after the ``ours`` children only) includes
the interpreter, numpy, torch, the input and every buffer, and nothing else. With ``--repeats R``
the two measurements alternate R times and the fastest of each is reported (the machine may be
shared). Defaults: n = 50,000, d = 512 random float32 embeddings (1.25 billion ordered pairs).

Usage::

    python scripts/bench_cosine_stats.py                  # full size
    python scripts/bench_cosine_stats.py --n 5000 --d 64  # quick
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def _embeddings(n: int, d: int, seed: int) -> np.ndarray:
    """Random float32 (n, d) embeddings, generated without a float64 temporary."""
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


def _child(mode: str, n: int, d: int, block_size: int, bins: int, seed: int) -> None:
    import torch

    from modality_gap import cone

    x = _embeddings(n, d, seed)
    if mode == "ours":
        start = time.perf_counter()
        stats = cone.cosine_stats(x, bins=bins, block_size=block_size)
        seconds = time.perf_counter() - start
        if int(stats.hist_counts.sum()) != n * (n - 1):
            raise SystemExit("histogram does not hold n(n-1) pairs")
        print(f"seconds: {seconds:.6f}")
        print(f"mean: {stats.mean:.8g}")
        return
    xt = torch.from_numpy(x)
    blocks = cone.row_blocks(n, block_size)
    buf = torch.empty(min(block_size, n) * n, dtype=torch.float32)
    start = time.perf_counter()
    for a, b in blocks:
        torch.mm(xt[a:b], xt[a:].T, out=buf[: (b - a) * (n - a)].view(b - a, n - a))
    seconds = time.perf_counter() - start
    print(f"seconds: {seconds:.6f}")


def _run_child(mode: str, args: argparse.Namespace) -> float:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", mode,
        "--n", str(args.n), "--d", str(args.d), "--block-size", str(args.block_size),
        "--bins", str(args.bins), "--seed", str(args.seed),
    ]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    values = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return float(values["seconds"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="number of embeddings (default 50000)")
    parser.add_argument("--d", type=int, default=512, help="embedding dimension (default 512)")
    parser.add_argument("--block-size", type=int, default=512, help="rows per block (default 512)")
    parser.add_argument("--bins", type=int, default=100_000, help="histogram bins (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random embeddings")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repetitions; fastest kept (default 2)")
    parser.add_argument("--child", choices=("ours", "gemm"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n, args.d, args.block_size, args.bins, args.seed)
        return
    if args.n < 2 or args.d < 1 or args.block_size < 1 or args.bins < 1 or args.repeats < 1:
        parser.error("--n must be >= 2 and --d, --block-size, --bins, --repeats >= 1")

    ours, gemm = [_run_child("ours", args)], []
    # ru_maxrss of RUSAGE_CHILDREN is the largest peak RSS (kB on Linux) of any waited-for child;
    # read it now, while the only child so far is the first 'ours' run.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    gemm.append(_run_child("gemm", args))
    for _ in range(args.repeats - 1):
        ours.append(_run_child("ours", args))
        gemm.append(_run_child("gemm", args))
    t_ours, t_gemm = min(ours), min(gemm)
    print(f"n: {args.n}")
    print(f"d: {args.d}")
    print(f"block_size: {args.block_size}")
    print(f"bins: {args.bins}")
    print(f"n_pairs: {args.n * (args.n - 1)}")
    print(f"cosine_stats_seconds: {t_ours:.3f}")
    print(f"gemm_seconds: {t_gemm:.3f}")
    print(f"cosine_stats_vs_gemm: {t_gemm / t_ours:.3f}")
    print(f"cosine_stats_peak_mb: {peak_mb:.1f}")


if __name__ == "__main__":
    main()
