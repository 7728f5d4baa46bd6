"""Retrieval for the encoder adapter (issue 17): which few list entries might have been said,
and where, from the frozen head's own log-posteriors.

Every name part (a given name, a family name) is spotted in the posteriors (`spot_all`: the
best path through its phones with a free start and end, scored against the head's own best
path over the same frames). An entry (given + family) scores as the best of its given name
alone, its family name alone and the two together, each per phone; the `k` best-scoring
entries are the candidates, each with the part that matched and the frames of its stretch.
The adapter then attends only to the candidates' phones and only near their stretches.
"""
import numpy as np

from train import BLANK


class PartMatrix:
    """Name parts as a padded matrix [N, L] (pad -1) and their lengths."""

    def __init__(self, seqs):
        self.lens = np.array([len(s) for s in seqs], dtype=np.int64)
        self.mat = np.full((len(seqs), max(self.lens.max(), 1)), -1, dtype=np.int64)
        for i, s in enumerate(seqs):
            self.mat[i, : len(s)] = s


def spot_all(parts, lp):
    """Keyword spotting of every part in the log-posteriors `lp` [T, V] (numpy): the best
    path through the part's phones (each held one or more frames, blanks allowed inside a
    phone's stretch), free start and end, scored against the frame-wise best tokens over
    the same frames (0 = the head itself would write the part there; more negative = worse).
    -> (score [N], start frame [N], end frame [N], exclusive)."""
    T = lp.shape[0]
    n, L = parts.mat.shape
    best = lp.max(1)
    blank = lp[:, BLANK] - best
    ids = np.where(parts.mat >= 0, parts.mat, 0)
    neg = -1e9
    v = np.full((n, L), neg)
    s = np.zeros((n, L), dtype=np.int64)
    out = np.full(n, neg)
    out_start = np.zeros(n, dtype=np.int64)
    out_end = np.zeros(n, dtype=np.int64)
    last = parts.lens - 1
    rows = np.arange(n)
    for t in range(T):
        ph = lp[t][ids] - best[t]  # [n, L]
        stay = v + np.maximum(ph, blank[t])
        mv = np.concatenate([np.zeros((n, 1)), v[:, :-1]], 1)  # free start at phone 0
        ms = np.concatenate([np.full((n, 1), t), s[:, :-1]], 1)
        move = mv + ph
        take = move > stay
        v = np.where(take, move, stay)
        s = np.where(take, ms, s)
        fin = v[rows, last]
        better = fin > out
        out[better] = fin[better]
        out_start[better] = s[rows, last][better]
        out_end[better] = t + 1
    return out, out_start, out_end


class Spots:
    """One utterance's spotting of every part of the pool: given names and family names."""

    def __init__(self, g, f):
        self.g, self.f = g, f  # each (score [N], start [N], end [N])


def candidates(spots, entries, G, Fm, k):
    """The `k` entries (index pairs into the given and family pools) that best match, best
    first: [(entry index, part "given"|"family"|"full", start frame, end frame, per-phone
    score)]. The per-phone score is the spotting score over the part's phones (+1: a part of
    two phones does not win on one good frame)."""
    (vg, sg, eg), (vf, sf, ef) = spots.g, spots.f
    a = np.array([e[0] for e in entries], dtype=np.int64)
    b = np.array([e[1] for e in entries], dtype=np.int64)
    if len(a) == 0:
        return []
    lg, lf = G.lens[a], Fm.lens[b]
    s_g = vg[a] / (lg + 1)
    s_f = vf[b] / (lf + 1)
    s_full = (vg[a] + vf[b]) / (lg + lf + 2)
    stack = np.stack([s_g, s_f, s_full], 1)
    which = stack.argmax(1)
    best = stack.max(1)
    out = []
    for i in np.argsort(-best, kind="stable")[:k]:
        w = int(which[i])
        if w == 0:
            span = (sg[a[i]], eg[a[i]])
        elif w == 1:
            span = (sf[b[i]], ef[b[i]])
        else:
            span = (min(sg[a[i]], sf[b[i]]), max(eg[a[i]], ef[b[i]]))
        out.append((int(i), ("given", "family", "full")[w], int(span[0]), int(span[1]), float(best[i])))
    return out
