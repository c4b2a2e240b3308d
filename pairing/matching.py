"""Matching two embedded sets with optimal transport on the cosine cost (docs/method.md §11), through POT.

  emd       exact OT (ot.emd, network simplex): for equal set sizes a one-to-one assignment.
  sinkhorn  entropic OT (ot.sinkhorn, regularisation `reg`): scales to tens of thousands per side.
  fgw       fused Gromov-Wasserstein (ot.gromov.fused_gromov_wasserstein): (1 - alpha) x the cosine cost plus
            alpha x the mismatch of the two sets' internal cosine geometry.
  auto      emd up to AUTO_EMD_LIMIT entries of the cost matrix, sinkhorn beyond.

The marginals are uniform per item, and the rule that turns a plan into pairs is: each RAW ranks the photos by
the mass its row of the plan sends them (ties and zero mass by cosine cost) and takes the first top_k.
  n == m   the plan of emd is a permutation: a one-to-one assignment.
  n > m    1/n per RAW, 1/m per photo: each photo serves about n/m RAWs, each RAW goes (almost always) whole
           to one photo.
  n < m    1/m per RAW and per photo, plus one padding row holding the photos' remaining (m - n)/m at a
           constant cost (any spread of it costs the same): every RAW goes to its own photo, as in the
           rectangular assignment problem, and the photos no RAW needs are left to the padding.
"""
from __future__ import annotations

import numpy as np

from .pairing_error import PairingError

MATCHERS = ("emd", "sinkhorn", "fgw", "auto")
AUTO_EMD_LIMIT = 2000 * 2000


def cosine_cost(a: np.ndarray, b: np.ndarray, center: bool = True) -> np.ndarray:
    """1 - cosine similarity, float32 (n, m). center: subtract each set's mean embedding first, which removes
    the average difference between the two domains (rendered RAW vs photos) before comparing."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise PairingError(f"embeddings of shapes {a.shape} and {b.shape} cannot be compared: they come from "
                           "different embedders or settings; delete the pairing embedding cache and embed again")
    a, b = (x.astype(np.float32) for x in (a, b))
    if center:
        a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def transport_plan(cost: np.ndarray, method: str = "auto", reg: float = 0.05, alpha: float = 0.5,
                   raw_geometry: np.ndarray | None = None, photo_geometry: np.ndarray | None = None,
                   max_iter: int = 1000) -> np.ndarray:
    """(n, m) plan (marginals as the module says). fgw needs the intra-set costs raw_geometry (n, n),
    photo_geometry (m, m)."""
    if method not in MATCHERS:
        raise PairingError(f"unknown pairing matcher {method!r}; choose from {', '.join(MATCHERS)}")
    if method == "auto":
        method = "emd" if cost.size <= AUTO_EMD_LIMIT else "sinkhorn"
    n, m = cost.shape
    padded = n < m
    if padded:  # the padding row: constant cost, so it only takes the photos no RAW wants
        cost = np.concatenate([cost, np.full((1, m), cost.max(), cost.dtype)])
        if raw_geometry is not None:
            raw_geometry = np.pad(raw_geometry, ((0, 1), (0, 1)), constant_values=float(raw_geometry.mean()))
    a = np.append(np.full(n, 1.0 / m), (m - n) / m) if padded else np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)
    plan = _solve(cost, a, b, method, reg, alpha, raw_geometry, photo_geometry, max_iter)
    return plan[:n]


def _solve(cost, a, b, method, reg, alpha, raw_geometry, photo_geometry, max_iter) -> np.ndarray:
    import ot

    if method == "emd":
        return ot.emd(a, b, cost.astype(np.float64), numItermax=max(100_000, 50 * cost.size))
    if method == "sinkhorn":  # torch backend: its matrix-vector products are the whole cost at 10k x 10k
        import torch
        plan = ot.sinkhorn(torch.from_numpy(a).float(), torch.from_numpy(b).float(), torch.from_numpy(cost), reg,
                           numItermax=max_iter, stopThr=1e-6)
        return plan.numpy()
    if raw_geometry is None or photo_geometry is None:
        raise ValueError("fgw needs raw_geometry and photo_geometry (each set's own cosine cost)")
    if not 0.0 <= alpha <= 1.0:
        raise PairingError(f"pairing alpha {alpha} must lie in [0, 1] (0 = plain OT on the feature cost)")
    return ot.gromov.fused_gromov_wasserstein(cost.astype(np.float64), raw_geometry.astype(np.float64),
                                              photo_geometry.astype(np.float64), a, b, loss_fun="square_loss",
                                              alpha=alpha, max_iter=max_iter)


def ranked_matches(plan, cost: np.ndarray, top_k: int = 1, chunk: int = 1024) -> np.ndarray:
    """(n, top_k) photo indices per RAW: by plan mass, then (zero mass) by cosine cost; row chunks bound memory."""
    top_k = min(int(top_k), cost.shape[1])
    return np.concatenate([_ranked_rows(np.asarray(plan[i:i + chunk], np.float32), cost[i:i + chunk], top_k)
                           for i in range(0, cost.shape[0], chunk)])


def _ranked_rows(plan: np.ndarray, cost: np.ndarray, top_k: int) -> np.ndarray:
    relative = plan / np.maximum(plan.max(axis=1, keepdims=True), np.finfo(np.float32).tiny)
    key = np.where(relative > 1e-6, relative, -1.0 - cost)  # mass in (0, 1]; no mass: below -1, by cost
    if top_k == 1:
        return key.argmax(axis=1)[:, None]
    chosen = np.argpartition(-key, top_k - 1, axis=1)[:, :top_k]
    order = np.argsort(-np.take_along_axis(key, chosen, axis=1), axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def match_sets(raw_emb: np.ndarray, photo_emb: np.ndarray, method: str = "auto", reg: float = 0.05,
               alpha: float = 0.5, top_k: int = 1, center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, top_k), their cosine costs (n, top_k)) of each RAW's matched photos."""
    if len(raw_emb) == 0 or len(photo_emb) == 0:
        raise PairingError(f"nothing to match: {len(raw_emb)} RAW and {len(photo_emb)} photo embeddings")
    cost = cosine_cost(raw_emb, photo_emb, center)
    geometry = {}
    if method == "fgw":
        geometry = {"raw_geometry": cosine_cost(raw_emb, raw_emb, center),
                    "photo_geometry": cosine_cost(photo_emb, photo_emb, center)}
    plan = transport_plan(cost, method, reg, alpha, **geometry)
    indices = ranked_matches(plan, cost, top_k)
    return indices, np.take_along_axis(cost, indices, axis=1)
