#!/usr/bin/env python3
"""Retrieval first, then the adapter (issue 17, v8): the encoder-side biasing adapter sees
only the few list entries that the frozen head's own posteriors point to, and only near
where they point.

    python3 tools/build/adapter/train_retrieval.py --data DIR/speech --head head-v2.pt --out adapter.pt

The adapters of train_adapter.py attend from every frame to the whole list and never
learned to pick the right entry among others. Here the selection is not learned: each list
entry is spotted in the head's log-posteriors (tools/build/adapter/retrieve.py: given name,
family name or both, best path with a free start and end against the head's own best
path), the `--k` best are the candidates, and a frame may attend to a candidate's phones
only within `--margin` frames of the stretch where it was spotted. What is learned: per-
phone keys of the candidates (the entity GRU of train_adapter.py), the frames' queries after
the head's convolutions, attention also scored by the head's log-posterior of each key's
phone and by the candidate's spotting score, a "no entity" slot, and what is added to the
frame before the head's output layer. Training lists: the utterance's own contacts, each
left out with probability `--drop`, plus 10-`--max-distractors` made-up others.

The spotting of every name of the pool in every utterance is computed once and cached
(DIR/spots-{split}.npz, about 5 minutes for 8,600 utterances on 2 cores).

Measures on the validation split (names and voices training never has), greedy decoding:
PER and name PER with lists of the contacts alone, contacts + 100 and + 1000 others, and
1000 others without the contacts; and how often the said contact is among the candidates.
"""
import argparse
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "am"))
from train import BLANK, WB, batches, collate  # noqa: E402
from export import load_head  # noqa: E402
from retrieve import PartMatrix, Spots, candidates, spot_all  # noqa: E402
from train_adapter import (EMB, EntityEncoder, complete, head_convs, head_input, load_pool,  # noqa: E402
                           load_split, utterance_errors)


class RetrievalAdapter(nn.Module):
    def __init__(self, width=256, dim=EMB):
        super().__init__()
        self.entities = EntityEncoder(dim, "phone")
        self.q = nn.Linear(width, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(width)
        self.beta = nn.Parameter(torch.tensor(1.0))  # the head's log-posterior of the key's phone
        self.score_w = nn.Parameter(torch.tensor(1.0))  # the candidate's spotting score
        self.no_entity = nn.Parameter(torch.tensor(2.0))
        self.up = nn.Linear(dim, width)
        nn.init.zeros_(self.up.weight)  # starts as the identity: the head's own output
        nn.init.zeros_(self.up.bias)

    def forward(self, x, head_lp, keys, ids, bias, mask):
        """x [B, T, width] (the head's frames before its output layer), head_lp [B, T, V],
        keys [B, M, dim], ids [B, M] (each key's phone), bias [B, M] (its candidate's
        spotting score), mask [B, T, M] (where a frame may look) -> x plus what it finds."""
        if keys.shape[1] == 0:
            return x
        q = self.q(self.norm(x))
        logits = q @ self.k(keys).transpose(1, 2) / math.sqrt(keys.shape[-1])
        logits = logits + self.beta * torch.gather(head_lp, 2, ids[:, None, :].expand(-1, x.shape[1], -1))
        logits = logits + self.score_w * bias[:, None, :]
        logits = logits.masked_fill(~mask, float("-inf"))
        slot = self.no_entity.expand(x.shape[0], x.shape[1], 1)
        att = torch.softmax(torch.cat([slot, logits], -1), -1)[:, :, 1:]
        return x + self.up(att @ self.v(keys))


def part_phones(kind, g, f, given, family):
    if kind == "given":
        return given[g]
    if kind == "family":
        return family[f]
    return given[g] + [WB] + family[f]


class Pool:
    def __init__(self, given, family):
        self.given, self.family = given, family
        self.gl, self.fl = list(given), list(family)
        self.gi = {g: i for i, g in enumerate(self.gl)}
        self.fi = {f: i for i, f in enumerate(self.fl)}
        self.G = PartMatrix([given[g] for g in self.gl])
        self.F = PartMatrix([family[f] for f in self.fl])


_WORK = {}


def _spot_one(i):
    head, pool, utts = _WORK["head"], _WORK["pool"], _WORK["utts"]
    with torch.no_grad():
        lp = head(torch.from_numpy(utts[i][0].astype(np.float32))[None])[0].numpy().astype(np.float64)
    return [np.asarray(a) for a in (*spot_all(pool.G, lp), *spot_all(pool.F, lp))]


def spots_for(path, head, pool, utts, threads):
    """Every pool part spotted in every utterance, cached at `path`."""
    if not os.path.exists(path):
        started = time.time()
        _WORK.update(head=head, pool=pool, utts=utts)
        torch.set_num_threads(1)
        with mp.get_context("fork").Pool(threads) as p:
            rows = p.map(_spot_one, range(len(utts)), chunksize=16)
        torch.set_num_threads(threads)
        cols = list(zip(*rows))
        np.savez(path, vg=np.stack(cols[0]).astype(np.float32), sg=np.stack(cols[1]).astype(np.int32),
                 eg=np.stack(cols[2]).astype(np.int32), vf=np.stack(cols[3]).astype(np.float32),
                 sf=np.stack(cols[4]).astype(np.int32), ef=np.stack(cols[5]).astype(np.int32))
        print(f"spotted {len(utts)} utterances in {time.time() - started:.0f} s -> {path}", flush=True)
    d = dict(np.load(path))  # each array read once
    return [Spots((d["vg"][i], d["sg"][i], d["eg"][i]), (d["vf"][i], d["sf"][i], d["ef"][i]))
            for i in range(d["vg"].shape[0])]


def make_list(utt, pool, rng, drop, n_distract, absent=False):
    """Index pairs of the list's entries; the first ones are the utterance's own contacts."""
    own = [] if absent else [(pool.gi[g], pool.fi[f]) for g, f in complete(utt[2], pool.given, pool.family, rng)
                             if rng.random() >= drop]
    others = [(rng.randrange(len(pool.gl)), rng.randrange(len(pool.fl))) for _ in range(n_distract)]
    return own + others, len(own)


def build_inputs(adapter, pool, cands_per_utt, T, margin):
    """Candidates of each utterance of a batch -> keys [B, M, dim], ids, bias, mask."""
    B = len(cands_per_utt)
    seqs, owner, spans, scores = [], [], [], []
    for b, cands in enumerate(cands_per_utt):
        for kind, g, f, start, end, score in cands:
            seqs.append(part_phones(kind, pool.gl[g], pool.fl[f], pool.given, pool.family))
            owner.append(b)
            spans.append((start, end))
            scores.append(score)
    dim = adapter.k.in_features
    if not seqs:
        z = torch.zeros(B, 0, dtype=torch.long)
        return torch.zeros(B, 0, dim), z, torch.zeros(B, 0), torch.zeros(B, T, 0, dtype=torch.bool)
    L = max(len(s) for s in seqs)
    ph = torch.full((len(seqs), L), adapter.entities.emb.padding_idx, dtype=torch.long)
    for i, s in enumerate(seqs):
        ph[i, : len(s)] = torch.tensor(s)
    lens = torch.tensor([len(s) for s in seqs])
    flat = adapter.entities(ph, lens)  # [sum lens, dim]
    counts = [0] * B
    for o, n in zip(owner, lens.tolist()):
        counts[o] += n
    M = max(counts)
    keys = torch.zeros(B, M, dim)
    ids = torch.zeros(B, M, dtype=torch.long)
    bias = torch.zeros(B, M)
    mask = torch.zeros(B, T, M, dtype=torch.bool)
    pos, fill = 0, [0] * B
    for s, o, (start, end), score in zip(seqs, owner, spans, scores):
        n = len(s)
        a = fill[o]
        keys[o, a : a + n] = flat[pos : pos + n]
        ids[o, a : a + n] = torch.tensor(s)
        bias[o, a : a + n] = score
        mask[o, max(0, start - margin) : min(T, end + margin), a : a + n] = True
        pos += n
        fill[o] += n
    return keys, ids, bias, mask


def utt_candidates(spots, entries, pool, k):
    """-> ([(part kind, given index, family index, start, end, score)], the entries' indices)."""
    found = candidates(spots, entries, pool.G, pool.F, k)
    return [(kind, entries[i][0], entries[i][1], s, e, sc) for i, kind, s, e, sc in found], [c[0] for c in found]


def forward(head, adapter, pool, feats, cands_per_utt, margin):
    x = head_convs(head, head_input(head, feats))
    head_lp = F.log_softmax(head.out(x), -1)
    if adapter is None:
        return head_lp
    keys, ids, bias, mask = build_inputs(adapter, pool, cands_per_utt, x.shape[1], margin)
    return F.log_softmax(head.out(adapter(x, head_lp, keys, ids, bias, mask)), -1)


def evaluate(head, adapter, utts, spots, pool, mode, n_distract, k, margin, seed=0):
    rng = random.Random(seed)
    errs = n = nerrs = nn_ = found = said = 0
    with torch.no_grad():
        for utt, sp in zip(utts, spots):
            feats, labels, contacts = utt
            entries, n_own = make_list(utt, pool, rng, 0.0, n_distract, absent=(mode == "absent"))
            cands, idx = utt_candidates(sp, entries, pool, k)
            found += sum(i < n_own for i in idx)
            said += n_own
            lp = forward(head, adapter, pool, torch.from_numpy(feats.astype(np.float32))[None], [cands], margin)
            e, m, ne, nm = utterance_errors(lp[0], labels, contacts)
            errs, n, nerrs, nn_ = errs + e, n + m, nerrs + ne, nn_ + nm
    return errs / max(n, 1), nerrs / max(nn_, 1), found / max(said, 1)


def report(head, adapter, utts, spots, pool, k, margin):
    rows = [("head alone", None, "said", 0)]
    if adapter is not None:
        rows += [("contacts alone", adapter, "said", 0), ("contacts + 100", adapter, "said", 100),
                 ("contacts + 1000", adapter, "said", 1000), ("1000 others, contacts absent", adapter, "absent", 1000)]
    out = []
    for name, a, mode, nd in rows:
        per, nper, rec = evaluate(head, a, utts, spots, pool, mode, nd, k, margin)
        out.append(f"  {name:30s} PER {per:.4f}  name PER {nper:.4f}  contacts among the candidates {rec:.3f}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--head", required=True, help="the shipped head's checkpoint (frozen)")
    ap.add_argument("--names", help="the name pool (default DATA/../names.tsv)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-frames", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--valid-utts", type=int, default=300)
    ap.add_argument("--k", type=int, default=8, help="candidates the adapter sees")
    ap.add_argument("--margin", type=int, default=5, help="frames around a candidate's stretch it may be seen from")
    ap.add_argument("--drop", type=float, default=0.4, help="chance that a contact said is left out of the list")
    ap.add_argument("--max-distractors", type=int, default=1000)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    with open(os.path.join(root, "models-quantized", "tokens.txt"), encoding="utf-8") as f:
        tok = {l.split()[0]: int(l.split()[1]) for l in f if l.strip()}
    given, family = load_pool(args.names or os.path.join(os.path.dirname(os.path.abspath(args.data)), "names.tsv"), tok)
    pool = Pool(given, family)
    train = load_split(args.data, "train", given, family)
    valid = load_split(args.data, "valid", given, family)[: args.valid_utts]
    head, ck = load_head(args.head)
    for p in head.parameters():
        p.requires_grad_(False)
    valid_spots = spots_for(os.path.join(args.data, f"spots-valid-{len(valid)}.npz"), head, pool, valid, args.threads)
    train_spots = spots_for(os.path.join(args.data, "spots-train.npz"), head, pool, train, args.threads)
    keep = [i for i, u in enumerate(train) if len(u[1]) + sum(a == b for a, b in zip(u[1], u[1][1:])) <= len(u[0])]
    train = [train[i] for i in keep]
    train_spots = [train_spots[i] for i in keep]
    print(f"train: {len(train)} utterances, {sum(len(u[0]) for u in train) / 50 / 3600:.2f} h; valid: {len(valid)}",
          flush=True)
    adapter = RetrievalAdapter(width=ck["width"])
    print(f"adapter: {sum(p.numel() for p in adapter.parameters()) / 1e6:.3f} M parameters", flush=True)
    print("before training:\n" + report(head, None, valid, valid_spots, pool, args.k, args.margin), flush=True)
    opt = torch.optim.AdamW(adapter.parameters(), lr=args.lr, weight_decay=1e-2)
    steps = len(batches(train, args.batch_frames, random.Random(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps + 10,
                                                pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    best = (9.9, -1)
    for epoch in range(args.epochs):
        adapter.train()
        started, losses = time.time(), []
        for idx in batches(train, args.batch_frames, rng):
            x, lens, labels, llens = collate(train, idx)
            nd = 0 if args.max_distractors == 0 else \
                int(round(math.exp(rng.uniform(math.log(min(10, args.max_distractors)), math.log(args.max_distractors)))))
            cands = []
            for i in idx:
                entries, _ = make_list(train[i], pool, rng, args.drop, nd)
                cands.append(utt_candidates(train_spots[i], entries, pool, args.k)[0])
            if not any(cands):
                continue  # nothing to attend to: the head alone, nothing to learn
            lp = forward(head, adapter, pool, x, cands, args.margin)
            loss = ctc(lp.transpose(0, 1), labels, lens, llens)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(adapter.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        adapter.eval()
        per, nper, _ = evaluate(head, adapter, valid, valid_spots, pool, "said", 100, args.k, args.margin)
        aper, _, _ = evaluate(head, adapter, valid, valid_spots, pool, "absent", 1000, args.k, args.margin)
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f}, valid PER {per:.4f}, name PER {nper:.4f} "
              f"(contacts + 100), PER {aper:.4f} (contacts absent), {time.time() - started:.0f} s", flush=True)
        if nper < best[0]:
            best = (nper, epoch + 1)
            torch.save({"state": adapter.state_dict(), "width": ck["width"], "dim": EMB, "epoch": epoch + 1,
                        "valid_name_per": nper, "args": vars(args)}, args.out)
    adapter.load_state_dict(torch.load(args.out, map_location="cpu")["state"])
    adapter.eval()
    print(f"best: epoch {best[1]} -> {args.out}\n" + report(head, adapter, valid, valid_spots, pool, args.k, args.margin),
          flush=True)


if __name__ == "__main__":
    main()
