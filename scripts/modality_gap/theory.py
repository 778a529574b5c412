"""Random networks and the paper's theory of the cone effect (Sections 2.2 and 3, Appendix D).

* Figure 2b: :func:`random_mlp_cosine_curve` -- average pairwise cosine similarity after each layer of
  a random MLP (512 x 512 layers, weights and biases ~ N(0, 1/512)).
* Theorem 1: one random Linear + ReLU layer increases the cosine similarity of two fixed vectors with
  probability ``1 - O(1/d_out)`` if ``cos(u, v) < 2r / (1 + r^2)`` (``||u|| = r ||v||``, weights and
  biases ~ N(0, 1/d_out)). :func:`cosine_increase_probability` estimates that probability by Monte
  Carlo, :func:`theorem1_condition` evaluates the condition, :func:`preactivation_cosine` and
  :func:`relu_limit_cosine` give the large-``d_out`` limits, :func:`theorem1_table` tabulates a grid.
* Theorem 2 (Theorem 4 in Appendix D): for a ReLU MLP with weights and biases ~ N(0, 1/d^(l)) and
  unit-norm inputs ``U``, every output coordinate ``k`` of layer ``L`` satisfies
  ``Var[E[h_k | Theta]] / Var[h_k] >= beta`` with ``beta = 1 - tr Var[h^(L-1)(U) | Theta^(L-1)]``.
  :func:`theorem2_table` estimates both sides for random networks of several seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from .cone import mean_pairwise_cosine

__all__ = [
    "ACTIVATIONS",
    "cosine_increase_probability",
    "preactivation_cosine",
    "random_mlp_cosine_curve",
    "random_mlp_cosine_curves",
    "relu_limit_cosine",
    "theorem1_condition",
    "theorem1_table",
    "theorem1_threshold",
    "theorem2_table",
]


def _leaky_relu(h: np.ndarray) -> np.ndarray:
    return np.where(h > 0, h, np.float32(0.01) * h)


def _sigmoid(h: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(h)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "relu": lambda h: np.maximum(h, np.float32(0.0)),
    "leaky_relu": _leaky_relu,  # negative slope 0.01, as torch.nn.LeakyReLU
    "tanh": np.tanh,
    "none": lambda h: h,
}
"""Element-wise non-linearities of Figure 2b, by name (float32 in, float32 out)."""


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite_float(value: object, name: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


# --------------------------------------------------------------------------------------------------
# Figure 2b
# --------------------------------------------------------------------------------------------------


def random_mlp_cosine_curve(
    activation: str,
    n_layers: int = 25,
    n_inputs: int = 1024,
    dim: int = 512,
    seed: int = 0,
    *,
    weight_variance: float | None = None,
) -> np.ndarray:
    """Average pairwise cosine similarity after each layer of a random MLP (Figure 2b).

    Inputs are ``n_inputs`` vectors from N(0, I_dim). Each of the ``n_layers`` layers is a
    ``dim x dim`` Linear map whose weight and bias entries are i.i.d. N(0, ``weight_variance``)
    (default ``1 / dim``, i.e. standard deviation ``1 / sqrt(dim)``, as in the paper), followed by
    ``activation``. The forward pass runs in float32 (numpy); the averages are taken in float64.

    Parameters
    ----------
    activation : {'sigmoid', 'relu', 'leaky_relu', 'tanh', 'none'}
    n_layers : int, default 25
    n_inputs : int, default 1024
        At least 2.
    dim : int, default 512
        Input and layer width.
    seed : int, default 0
        Seeds a ``numpy.random.Generator`` that draws the inputs first, then
        ``W_1, b_1, W_2, b_2, ...``.
    weight_variance : float, optional
        Variance of every weight and bias entry; default ``1 / dim``.

    Returns
    -------
    numpy.ndarray, shape (n_layers,)
        Entry ``l`` is the mean cosine over all ordered input pairs ``i != j`` after layer ``l + 1``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    n_layers = _positive_int(n_layers, "n_layers")
    n_inputs = _positive_int(n_inputs, "n_inputs")
    dim = _positive_int(dim, "dim")
    if n_inputs < 2:
        raise ValueError(f"n_inputs must be at least 2 to form a pair, got {n_inputs}")
    var = 1.0 / dim if weight_variance is None else _finite_float(weight_variance, "weight_variance")
    if var <= 0:
        raise ValueError(f"weight_variance must be positive, got {weight_variance!r}")
    act = ACTIVATIONS[activation]
    std = np.float32(math.sqrt(var))
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n_inputs, dim), dtype=np.float32)
    curve = np.empty(n_layers)
    for layer in range(n_layers):
        weight = rng.standard_normal((dim, dim), dtype=np.float32) * std
        bias = rng.standard_normal(dim, dtype=np.float32) * std
        h = act(h @ weight.T + bias)
        dead = np.flatnonzero(~np.any(h != 0, axis=1))
        if dead.size:
            raise ValueError(
                f"after layer {layer + 1} {dead.size} input(s) map to the zero vector, whose cosine "
                f"is undefined; use a larger dim (got dim={dim})"
            )
        curve[layer] = mean_pairwise_cosine(h)
    return curve


def random_mlp_cosine_curves(
    activations: Iterable[str] = ("sigmoid", "leaky_relu", "relu", "tanh", "none"),
    seeds: Iterable[int] = (0,),
    n_layers: int = 25,
    n_inputs: int = 1024,
    dim: int = 512,
) -> pd.DataFrame:
    """:func:`random_mlp_cosine_curve` for several activations and seeds, as a long table.

    Returns
    -------
    pandas.DataFrame
        Columns ``activation`` (str), ``seed`` (int), ``layer`` (int, 1..n_layers) and
        ``mean_cosine`` (float); one row per (activation, seed, layer).
    """
    rows = []
    for activation in activations:
        for seed in seeds:
            curve = random_mlp_cosine_curve(activation, n_layers, n_inputs, dim, seed)
            rows.extend(
                {"activation": activation, "seed": int(seed), "layer": layer + 1, "mean_cosine": value}
                for layer, value in enumerate(curve)
            )
    return pd.DataFrame(rows, columns=["activation", "seed", "layer", "mean_cosine"])


# --------------------------------------------------------------------------------------------------
# Theorem 1
# --------------------------------------------------------------------------------------------------


def _check_theorem1_args(cos_uv: float, norm_ratio: float, norm_v: float = 1.0) -> tuple[float, float, float]:
    c = _finite_float(cos_uv, "cos_uv")
    r = _finite_float(norm_ratio, "norm_ratio")
    nv = _finite_float(norm_v, "norm_v")
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"cos_uv must lie in [-1, 1], got {cos_uv!r}")
    if r <= 0:
        raise ValueError(f"norm_ratio must be positive (||u|| = norm_ratio * ||v||), got {norm_ratio!r}")
    if nv <= 0:
        raise ValueError(f"norm_v must be positive, got {norm_v!r}")
    return c, r, nv


def theorem1_threshold(norm_ratio: float) -> float:
    """Theorem 1's upper limit on the starting cosine: ``(0.5 * (r + 1/r))**-1 = 2r / (1 + r^2)``.

    Parameters
    ----------
    norm_ratio : float
        ``r = ||u|| / ||v||``, positive.

    Returns
    -------
    float
        In (0, 1]; equal to 1 only for ``r = 1``.
    """
    _, r, _ = _check_theorem1_args(0.0, norm_ratio)
    return 2.0 * r / (1.0 + r * r)


def theorem1_condition(cos_uv: float, norm_ratio: float) -> bool:
    """Whether Theorem 1's hypothesis ``cos(u, v) < 2r / (1 + r^2)`` holds.

    The condition does not involve the absolute norms or ``d_out``. It is sufficient, not
    necessary: the proof only needs ``preactivation_cosine(...) > cos_uv``, which also holds for
    some pairs that violate the condition when the norms are small.

    Parameters
    ----------
    cos_uv : float
        Starting cosine, in [-1, 1].
    norm_ratio : float
        ``r = ||u|| / ||v||``, positive.

    Returns
    -------
    bool
    """
    c, r, _ = _check_theorem1_args(cos_uv, norm_ratio)
    return c < 2.0 * r / (1.0 + r * r)


def preactivation_cosine(cos_uv: float, norm_ratio: float, norm_v: float = 1.0) -> float:
    """Large-``d_out`` limit of ``cos(Wu + b, Wv + b)`` -- the lower bound used in Theorem 1's proof.

    With entries ~ N(0, 1/d_out), ``(Wu + b).(Wv + b) -> 1 + u.v`` and ``||Wu + b||^2 -> 1 + ||u||^2``
    as ``d_out -> inf``, so the limit is ``(1 + u.v) / sqrt((1 + ||u||^2)(1 + ||v||^2))``. By Lemma 3
    the post-ReLU cosine is at least this in the limit, and the proof shows it exceeds ``cos_uv``
    whenever :func:`theorem1_condition` holds.

    Parameters
    ----------
    cos_uv : float
        ``cos(u, v)``, in [-1, 1].
    norm_ratio : float
        ``||u|| / ||v||``, positive.
    norm_v : float, default 1.0
        ``||v||``, positive (so ``||u|| = norm_ratio * norm_v``).

    Returns
    -------
    float
    """
    c, r, nv = _check_theorem1_args(cos_uv, norm_ratio, norm_v)
    nu = r * nv
    return (1.0 + c * nu * nv) / math.sqrt((1.0 + nu * nu) * (1.0 + nv * nv))


def relu_limit_cosine(cos_uv: float, norm_ratio: float, norm_v: float = 1.0) -> float:
    """Exact large-``d_out`` limit of ``cos(relu(Wu + b), relu(Wv + b))``.

    The coordinates of ``(Wu + b, Wv + b)`` are i.i.d. bivariate Gaussian pairs with correlation
    ``rho = preactivation_cosine(...)``, so by the law of large numbers the post-ReLU cosine tends
    to the first-order arc-cosine kernel ``(sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi``
    (Cho & Saul, 2009), which is ``>= rho``. ``cos_uv`` increases with probability tending to 1 if
    this exceeds ``cos_uv`` and to 0 if it falls below.

    Parameters
    ----------
    cos_uv, norm_ratio, norm_v : float
        As in :func:`preactivation_cosine`.

    Returns
    -------
    float
    """
    rho = min(max(preactivation_cosine(cos_uv, norm_ratio, norm_v), -1.0), 1.0)
    return (math.sqrt(1.0 - rho * rho) + (math.pi - math.acos(rho)) * rho) / math.pi


def _relu_layer_cosines(
    u: np.ndarray, v: np.ndarray, d_out: int, n_trials: int, rng: np.random.Generator, chunk: int
) -> np.ndarray:
    """Cosines after one random Linear(N(0, 1/d_out)) + ReLU layer, one per trial (NaN if undefined)."""
    out = np.empty(n_trials)
    std = 1.0 / math.sqrt(d_out)
    for start in range(0, n_trials, chunk):
        m = min(chunk, n_trials - start)
        weight = rng.standard_normal((m, d_out, u.size)) * std
        bias = rng.standard_normal((m, d_out)) * std
        hu = np.maximum(weight @ u + bias, 0.0)
        hv = np.maximum(weight @ v + bias, 0.0)
        dot = np.einsum("ij,ij->i", hu, hv)
        norms = np.sqrt(np.einsum("ij,ij->i", hu, hu) * np.einsum("ij,ij->i", hv, hv))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + m] = np.where(norms > 0, dot / norms, np.nan)
    return out


def _fixed_pair(cos_uv: float, norm_ratio: float, norm_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectors in R^2 with ``||v|| = norm_v``, ``||u|| = norm_ratio * norm_v`` and ``cos(u, v) = cos_uv``."""
    v = np.array([norm_v, 0.0])
    u = norm_ratio * norm_v * np.array([cos_uv, math.sqrt(max(1.0 - cos_uv * cos_uv, 0.0))])
    return u, v


def cosine_increase_probability(
    cos_uv: float,
    norm_ratio: float,
    d_out: int,
    n_trials: int = 2000,
    seed: int = 0,
    *,
    norm_v: float = 1.0,
) -> float:
    """Monte Carlo estimate of ``P[cos(relu(Wu + b), relu(Wv + b)) > cos(u, v)]`` (Theorem 1).

    ``W`` (``d_out x d_in``) and ``b`` have i.i.d. N(0, 1/d_out) entries, fresh in every trial; ``u``
    and ``v`` are fixed with ``||u|| = norm_ratio * ||v||``, ``||v|| = norm_v``. Because the rows of a
    Gaussian ``W`` are isotropic, the joint law of ``(Wu, Wv)`` depends on ``u, v`` only through
    their norms and inner product, so ``d_in = 2`` is exact for every ``d_in >= 2``. A trial in which
    either post-ReLU vector is all zero (probability about ``2 ** -d_out``) has no cosine and counts
    as "not increased". The standard error is ``sqrt(p (1 - p) / n_trials)``.

    Parameters
    ----------
    cos_uv : float
        ``cos(u, v)``, in [-1, 1].
    norm_ratio : float
        ``r = ||u|| / ||v||``, positive.
    d_out : int
        Output width of the layer.
    n_trials : int, default 2000
        Independent draws of ``(W, b)``.
    seed : int, default 0
        Seed of the ``numpy.random.Generator``.
    norm_v : float, default 1.0
        ``||v||``; the theorem holds for any norm, the probability at finite ``d_out`` depends on it.

    Returns
    -------
    float
        Fraction of trials in which the cosine strictly increased.
    """
    c, r, nv = _check_theorem1_args(cos_uv, norm_ratio, norm_v)
    d_out = _positive_int(d_out, "d_out")
    n_trials = _positive_int(n_trials, "n_trials")
    u, v = _fixed_pair(c, r, nv)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // d_out)
    after = _relu_layer_cosines(u, v, d_out, n_trials, rng, chunk)
    with np.errstate(invalid="ignore"):
        return float(np.mean(after > c))


def theorem1_table(
    d_outs: Sequence[int] = (8, 32, 128, 512, 2048),
    cosines: Sequence[float] = (-0.5, 0.0, 0.5, 0.8, 0.9, 0.95, 0.99),
    norm_ratios: Sequence[float] = (1.0, 1.5, 2.0, 4.0),
    norm_v: float = 1.0,
    n_trials: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Theorem 1 over a grid: Monte Carlo probability of a cosine increase vs. the theorem's condition.

    Every cell gets its own independent random stream (``numpy.random.SeedSequence(seed)`` spawned
    once per cell, in grid order ``norm_ratio, cos_uv, d_out``).

    Parameters
    ----------
    d_outs : sequence of int
        Layer output widths.
    cosines : sequence of float
        Starting cosines ``cos(u, v)``.
    norm_ratios : sequence of float
        ``r = ||u|| / ||v||``.
    norm_v : float, default 1.0
        ``||v||``.
    n_trials : int, default 2000
        Monte Carlo draws per cell.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        One row per cell with columns ``d_out``, ``cos_uv``, ``norm_ratio``, ``norm_v``,
        ``threshold`` (``2r / (1 + r^2)``), ``condition_holds`` (bool), ``preactivation_cos`` (the
        proof's limiting lower bound), ``limit_cos`` (exact large-``d_out`` limit of the post-ReLU
        cosine), ``mean_cos_after`` (Monte Carlo mean), ``p_increase``, ``p_increase_se``
        (binomial standard error), ``p_ci_low`` / ``p_ci_high`` (95% Clopper-Pearson interval),
        ``n_trials`` and ``n_degenerate`` (trials with an all-zero post-ReLU vector).
    """
    from scipy.stats import binomtest

    n_trials = _positive_int(n_trials, "n_trials")
    d_outs = [_positive_int(d, "d_outs") for d in d_outs]
    cells = [(r, c, d) for r in norm_ratios for c in cosines for d in d_outs]
    streams = np.random.SeedSequence(seed).spawn(len(cells))
    rows = []
    for (r, c, d), stream in zip(cells, streams):
        c, r, nv = _check_theorem1_args(c, r, norm_v)
        u, v = _fixed_pair(c, r, nv)
        after = _relu_layer_cosines(u, v, d, n_trials, np.random.default_rng(stream), max(1, 2_000_000 // d))
        valid = np.isfinite(after)
        k = int(np.sum(after[valid] > c))
        p = k / n_trials
        ci = binomtest(k, n_trials).proportion_ci(confidence_level=0.95, method="exact")
        rows.append(
            {
                "d_out": d,
                "cos_uv": c,
                "norm_ratio": r,
                "norm_v": nv,
                "threshold": 2.0 * r / (1.0 + r * r),
                "condition_holds": bool(c < 2.0 * r / (1.0 + r * r)),
                "preactivation_cos": preactivation_cosine(c, r, nv),
                "limit_cos": relu_limit_cosine(c, r, nv),
                "mean_cos_after": float(np.mean(after[valid])) if valid.any() else float("nan"),
                "p_increase": p,
                "p_increase_se": math.sqrt(p * (1.0 - p) / n_trials),
                "p_ci_low": float(ci.low),
                "p_ci_high": float(ci.high),
                "n_trials": n_trials,
                "n_degenerate": int(np.sum(~valid)),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Theorem 2
# --------------------------------------------------------------------------------------------------


def _unit_sphere_inputs(n_inputs: int, dim: int, seed: int) -> np.ndarray:
    # spawn_key keeps this stream independent of the network streams default_rng(seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    x = rng.standard_normal((n_inputs, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def theorem2_table(
    inputs: npt.ArrayLike | None = None,
    depths: Sequence[int] = (1, 2, 3, 4, 6, 8, 10),
    seeds: Iterable[int] = range(25),
    dim: int = 512,
    n_inputs: int = 1024,
    input_seed: int = 0,
) -> pd.DataFrame:
    """Theorem 2: share of variance due to the random initialisation vs. its lower bound ``beta``.

    For each network seed ``s`` a ReLU MLP ``h^(l)(U) = relu(W^(l) h^(l-1)(U) + b^(l))`` of width
    ``dim`` is drawn with weight and bias entries ~ N(0, 1/dim) (the theorem's ``1/d^(l)``) and
    applied to the same unit-norm inputs. For each depth ``L`` (``Theta`` = the first ``L`` layers):

    * ``within`` = mean over seeds and output coordinates ``k`` of the sample variance over inputs
      (``ddof=1``), estimating ``E[Var[h_k | Theta]]``;
    * ``between`` = mean over ``k`` of the sample variance over seeds (``ddof=1``) of the per-seed
      input means, estimating ``Var[E[h_k | Theta]]`` (the ``O(within / n_inputs)`` noise of the
      per-seed means is not subtracted);
    * ``between_share = between / (between + within)``, the left side of the theorem (all ``k`` are
      exchangeable, so pooling over ``k`` estimates the same ratio), with a leave-one-seed-out
      jackknife standard error;
    * ``beta = 1 - E_Theta tr Var[h^(L-1)(U) | Theta^(L-1)]`` (``h^(0) = U``), the theorem's bound;
    * ``bound_proof = 1 - (1 - beta) pi / ((pi - 1)(1 + E||h^(L-1)||^2))``, the bound that Step 3
      of the proof actually establishes; the proof then relaxes it to ``beta``, which is valid
      only when ``E||h^(L-1)||^2 >= 1 / (pi - 1)`` (here ``E||h||^2`` stays near 1 at every layer);
    * ``mean_cos_prev``, the average pairwise cosine of ``h^(L-1)`` (the paper's reading of ``beta``).

    Parameters
    ----------
    inputs : array_like, shape (n, d0), optional
        Input data; each row is rescaled to unit norm (the theorem assumes ``||U|| = 1``). Default:
        ``n_inputs`` points uniform on the unit sphere of ``R^dim`` drawn from
        ``SeedSequence(input_seed, spawn_key=(1,))`` (independent of the network seeds).
    depths : sequence of int, default (1, 2, 3, 4, 6, 8, 10)
        Layers ``L`` at which the ratio is measured.
    seeds : iterable of int, default range(25)
        One network per seed (``numpy.random.default_rng(seed)`` draws ``W_1, b_1, W_2, ...``);
        at least 2.
    dim : int, default 512
        Width of every layer.
    n_inputs : int, default 1024
        Number of generated inputs when ``inputs`` is None.
    input_seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        One row per depth with columns ``depth``, ``n_seeds``, ``n_inputs``, ``between``, ``within``,
        ``between_share``, ``between_share_se``, ``beta``, ``bound_proof``, ``mean_cos_prev``,
        ``mean_sq_norm_prev``, ``holds`` (``between_share >= beta``), ``holds_proof``
        (``between_share >= bound_proof``) and ``z_beta`` / ``z_proof`` (the margins in units of
        ``between_share_se``). In deep layers the proof's bound is nearly tight (both of its
        inequalities become equalities when the within-initialisation variance is small), so
        ``holds_proof`` is then decided by sampling noise; judge it by ``z_proof``.
    """
    dim = _positive_int(dim, "dim")
    if inputs is None:
        x = _unit_sphere_inputs(_positive_int(n_inputs, "n_inputs"), dim, input_seed)
    else:
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
            raise ValueError(f"inputs must have shape (n, d0) with n >= 2, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("inputs contain NaN or infinite values")
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("inputs contain zero vectors, which cannot be rescaled to unit norm")
        x = x / norms
    depths = sorted({_positive_int(d, "depths") for d in depths})
    if not depths:
        raise ValueError("depths must not be empty")
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 network seeds, got {len(seeds)}")
    n, max_depth = x.shape[0], depths[-1]
    std = np.float32(1.0 / math.sqrt(dim))

    # Per seed and layer l = 0..max_depth: input means (d_l,), input variances, E||h||^2, mean cosine.
    layer_means: list[list[np.ndarray]] = []
    layer_vars: list[list[np.ndarray]] = []
    sq_norms = np.empty((len(seeds), max_depth + 1))
    mean_cos = np.empty((len(seeds), max_depth + 1))
    x32 = x.astype(np.float32)
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        h = x32
        means, variances = [], []
        for layer in range(max_depth + 1):
            if layer > 0:
                weight = rng.standard_normal((dim, h.shape[1]), dtype=np.float32) * std
                bias = rng.standard_normal(dim, dtype=np.float32) * std
                h = np.maximum(h @ weight.T + bias, np.float32(0.0))
            h64 = h.astype(np.float64)
            means.append(h64.mean(axis=0))
            variances.append(h64.var(axis=0, ddof=1))
            row_sq = np.einsum("ij,ij->i", h64, h64)
            sq_norms[i, layer] = float(row_sq.mean())
            mean_cos[i, layer] = mean_pairwise_cosine(h64) if bool((row_sq > 0).all()) else np.nan
        layer_means.append(means)
        layer_vars.append(variances)

    k = len(seeds)
    rows = []
    for depth in depths:
        m = np.stack([layer_means[i][depth] for i in range(k)])  # (K, d)
        w = np.stack([layer_vars[i][depth] for i in range(k)])  # (K, d)
        between = float(m.var(axis=0, ddof=1).mean())
        within = float(w.mean())
        share = between / (between + within)
        # leave-one-seed-out jackknife
        jack = np.empty(k)
        for j in range(k):
            keep = np.arange(k) != j
            b_j = m[keep].var(axis=0, ddof=1).mean()
            w_j = w[keep].mean()
            jack[j] = b_j / (b_j + w_j)
        se = float(np.sqrt((k - 1) / k * np.square(jack - jack.mean()).sum()))
        tr_prev = float(np.mean([layer_vars[i][depth - 1].sum() for i in range(k)]))
        beta = 1.0 - tr_prev
        sq_prev = float(sq_norms[:, depth - 1].mean())
        bound_proof = 1.0 - (1.0 - beta) * math.pi / ((math.pi - 1.0) * (1.0 + sq_prev))
        rows.append(
            {
                "depth": depth,
                "n_seeds": k,
                "n_inputs": n,
                "between": between,
                "within": within,
                "between_share": share,
                "between_share_se": se,
                "beta": beta,
                "bound_proof": bound_proof,
                "mean_cos_prev": float(np.nanmean(mean_cos[:, depth - 1])),
                "mean_sq_norm_prev": sq_prev,
                "holds": bool(share >= beta),
                "holds_proof": bool(share >= bound_proof),
                "z_beta": (share - beta) / se if se > 0 else float("nan"),
                "z_proof": (share - bound_proof) / se if se > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)
