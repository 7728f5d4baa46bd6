#!/usr/bin/env python3
"""Trains the encoder-side biasing adapter (issue 17) between nomen's frozen Whisper tiny.en
encoder and its frozen CTC phone head, and measures it.

    python3 tools/build/adapter/train_adapter.py --data DIR/speech --head head-v2.pt --out adapter.pt

Reads DIR/feats/{train,valid}-*.npz (tools/build/am/features.py over the shards of
tools/build/adapter/synth_names.py) and the shards themselves (the names said, with their
label spans) and the name pool (DIR/../names.tsv, or --names).

The model (`Adapter`), as in the contextual-adapter papers: each list entry (a contact's
full name: given name, `<wb>`, family name, in G2P phones) is embedded by a small
bidirectional GRU over its phones; every frame of the head's projected encoder output
(256 wide, after the head's input projection) attends over the entries' embeddings and a
learned "no entity" slot; what it finds is projected back and added to the frame, before
the head's convolutions and output layer. Only the adapter trains (CTC loss over the whole
utterance); the encoder and head are frozen, so with the no-entity slot attended the
output is the head's.

Lists: one per batch (every utterance of the batch sees it, as in batch-level biasing
training; `--lists own`: each utterance sees only its own contacts and the distractors):
the contacts said in the batch, each dropped with probability `--drop` (0.2; the name is
then not in the list: the adapter must stay quiet), plus distractors from the pool, log-
uniformly 10 (or fewer) to `--max-distractors` entries.

Measures on the validation split (names and voices training never has), greedy decoding:
phone error rate (PER) of all utterances, and of the names alone (each name's phones
against the best-matching stretch of the output), for the head alone and with the adapter
given a list of the utterance's contacts plus 100 or 1000 distractors, a list without the
utterance's contacts (1000 distractors), and an empty list. Seeded.
"""
import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "am"))
from train import BLANK, VOCAB, WB, batches, collate, edit_distance, greedy  # noqa: E402
from export import load_head  # noqa: E402

EMB = 128


class EntityEncoder(nn.Module):
    """Phone sequences -> one embedding each (`level` "entity"), or one per phone in its
    entity's context ("phone": a frame can then find the very phone it should be)."""

    def __init__(self, dim=EMB, level="entity"):
        super().__init__()
        self.level = level
        self.emb = nn.Embedding(VOCAB + 1, 64, padding_idx=VOCAB)
        self.gru = nn.GRU(64, dim // 2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(dim + (64 if level == "phone" else 0), dim)

    def forward(self, phones, lens):
        x = self.emb(phones)
        packed = nn.utils.rnn.pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
        seq, h = self.gru(packed)
        if self.level == "entity":
            return self.out(torch.cat([h[0], h[1]], dim=-1))
        seq, _ = nn.utils.rnn.pad_packed_sequence(seq, batch_first=True, total_length=phones.shape[1])
        per_phone = self.out(torch.cat([seq, x], dim=-1))  # [N, L, dim]
        keep = torch.arange(phones.shape[1])[None, :] < lens[:, None]
        self.last_ids = phones[keep]  # the phone of each key (for --grounded)
        return per_phone[keep]  # [sum of lens, dim]


class Adapter(nn.Module):
    def __init__(self, width=256, dim=EMB, level="entity", grounded=False):
        super().__init__()
        self.entities = EntityEncoder(dim, level)
        # Grounded (phone level only): a frame's attention to an entity's phone also counts
        # how likely the frozen head finds that phone there (its log-posterior).
        self.grounded = grounded
        self.beta = nn.Parameter(torch.tensor(1.0))
        self.no_entity_logit = nn.Parameter(torch.tensor(0.0))
        self.q = nn.Linear(width, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.no_entity = nn.Parameter(torch.zeros(1, dim))
        self.up = nn.Linear(dim, width)
        nn.init.zeros_(self.up.weight)  # starts as the identity: the head's own output
        nn.init.zeros_(self.up.bias)
        self.norm = nn.LayerNorm(width)

    def embed(self, phones, lens):
        """The list's entries -> [N, dim] (N may be 0); grounded: (keys, their phone ids)."""
        if phones.shape[0] == 0:
            empty = torch.zeros(0, self.no_entity.shape[1])
            return (empty, torch.zeros(0, dtype=torch.long)) if self.grounded else empty
        e = self.entities(phones, lens)
        return (e, self.entities.last_ids) if self.grounded else e

    def forward(self, x, ents, allowed=None, head_lp=None):
        """x [B, T, width], ents [N, dim] -> x plus what the frames find in the list;
        `allowed` [B, N]: which entries each utterance's list holds (None: all); `head_lp`
        [B, T, vocab]: the frozen head's log-posteriors (grounded attention)."""
        ids = None
        if self.grounded:
            ents, ids = ents
        keys = torch.cat([self.no_entity, ents], 0)  # slot 0: no entity
        q = self.q(self.norm(x))
        logits = q @ self.k(keys).T / math.sqrt(keys.shape[1])  # [B, T, N+1]
        if self.grounded and head_lp is not None:
            ground = torch.cat([self.no_entity_logit.expand(*head_lp.shape[:2], 1),
                                self.beta * head_lp[:, :, ids]], -1)
            logits = logits + ground
        if allowed is not None:
            allow = torch.cat([torch.ones(allowed.shape[0], 1, dtype=torch.bool), allowed], 1)
            logits = logits.masked_fill(~allow[:, None, :], float("-inf"))
        att = torch.softmax(logits, dim=-1)
        vals = self.v(keys)
        vals = torch.cat([torch.zeros_like(vals[:1]), vals[1:]], 0)  # the no-entity slot adds nothing
        return x + self.up(att @ vals), att


def head_input(head, feats):
    """The frozen head's tapped-output mix and input projection: frames [B, T, width]."""
    w = torch.softmax(head.mix, 0)
    x = sum(w[i] * head.norms[i](feats[:, :, i]) for i in range(len(head.norms)))
    return F.gelu(head.proj(x))


def head_convs(head, x):
    """The frozen head's residual convolutions (no dropout): frames [B, T, width]."""
    for conv, ln in zip(head.convs, head.norms2):
        y = conv(ln(x).transpose(1, 2)).transpose(1, 2)
        x = x + F.gelu(y)
    return x


def head_forward(head, feats, adapter=None, ents=None, place="early", allowed=None):
    """The frozen head with the adapter between its input projection and its convolutions
    (`place` "early"), or between its convolutions and its output layer ("late": the frames
    then query the list with what the head has made of them, nearly phone posteriors)."""
    x = head_input(head, feats)
    att = None
    if adapter is not None and place == "early":
        x, att = adapter(x, ents, allowed)
    x = head_convs(head, x)
    if adapter is not None and place == "late":
        head_lp = F.log_softmax(head.out(x), dim=-1) if adapter.grounded else None
        x, att = adapter(x, ents, allowed, head_lp)
    return F.log_softmax(head.out(x), dim=-1), att


def load_pool(path, tok):
    given, family = {}, {}
    for line in open(path, encoding="utf-8"):
        kind, spelling, phones = line.rstrip("\n").split("\t")
        (given if kind == "given" else family)[spelling] = [tok[p] for p in phones.split()]
    return given, family


def contact_phones(given, family, g, f):
    out = []
    if g:
        out += given[g]
    if f:
        out += ([WB] if out else []) + family[f]
    return out


def load_split(data, split, given, family):
    """Utterances: (feats [T, taps, 384] float16, labels, contacts: [(phones, label span)])."""
    utts = []
    for fpath in sorted(glob.glob(os.path.join(data, "feats", f"{split}-*.npz"))):
        d = np.load(fpath)
        s = np.load(os.path.join(data, os.path.basename(fpath)))
        f, fo, lab, lo = d["feats"], d["feat_off"], d["labels"], d["label_off"]
        for i in range(len(fo) - 1):
            names = json.loads(str(s["names"][i]))
            contacts = []
            for n in names:
                # The list holds the contact as the address book would: given and family name
                # (a name said alone belongs to a contact with a made-up other part).
                contacts.append((n["given"], n["family"], tuple(n["span"])))
            utts.append((f[fo[i] : fo[i + 1]], lab[lo[i] : lo[i + 1]].astype(np.int64), contacts))
    return utts


def complete(contacts, given, family, rng):
    """The list entry of each contact said: the name said, completed with a random other part."""
    gl, fl = list(given), list(family)
    out = []
    for g, f, span in contacts:
        out.append((g or rng.choice(gl), f or rng.choice(fl)))
    return out


def encode_list(entries, given, family):
    seqs = [contact_phones(given, family, g, f) for g, f in entries]
    if not seqs:
        return torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    L = max(len(s) for s in seqs)
    ph = torch.full((len(seqs), L), VOCAB, dtype=torch.long)
    for i, s in enumerate(seqs):
        ph[i, : len(s)] = torch.tensor(s)
    return ph, torch.tensor([len(s) for s in seqs])


def name_errors(hyp, ref):
    """Edits to find `ref` in `hyp` at its best-matching stretch (free start and end in hyp)."""
    prev = [0] * (len(hyp) + 1)
    for i in range(1, len(ref) + 1):
        cur = [i] + [0] * len(hyp)
        for j in range(1, len(hyp) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] != hyp[j - 1]))
        prev = cur
    return min(prev)


def utterance_errors(lp, labels, contacts):
    """Greedy decoding of one utterance's log-posteriors [T, V] scored against its labels
    (word boundaries left out): (phone errors, phones, name-phone errors, name phones)."""
    hyp = [u for u in greedy(lp) if u != WB]
    ref = [int(u) for u in labels if u != WB]
    nerrs = nn_ = 0
    for _, _, (a, b) in contacts:
        r = [int(u) for u in labels[a:b] if u != WB]
        nerrs += name_errors(hyp, r)
        nn_ += len(r)
    return edit_distance(hyp, ref), len(ref), nerrs, nn_


PLACE = "early"


def evaluate(head, adapter, utts, given, family, mode, n_distract, seed=0):
    """(PER over all phones, PER over the names' phones) with lists made as `mode` says."""
    rng = random.Random(seed)
    gl, fl = list(given), list(family)
    errs = n = nerrs = nn_ = 0
    with torch.no_grad():
        for feats, labels, contacts in utts:
            ents = None
            if adapter is not None:
                said = complete(contacts, given, family, rng) if mode != "absent" else []
                entries = said + [(rng.choice(gl), rng.choice(fl)) for _ in range(n_distract)]
                rng.shuffle(entries)
                ph, pl = encode_list(entries, given, family)
                ents = adapter.embed(ph, pl)
            x = torch.from_numpy(feats.astype(np.float32))[None]
            lp, _ = head_forward(head, x, adapter, ents, PLACE)
            e, m, ne, nm = utterance_errors(lp[0], labels, contacts)
            errs, n, nerrs, nn_ = errs + e, n + m, nerrs + ne, nn_ + nm
    return errs / max(n, 1), nerrs / max(nn_, 1)


def report(head, adapter, valid, given, family):
    rows = [("head alone", None, "said", 0)]
    if adapter is not None:
        rows += [("adapter, empty list", adapter, "absent", 0),
                 ("adapter, contacts alone", adapter, "said", 0),
                 ("adapter, contacts + 100", adapter, "said", 100),
                 ("adapter, contacts + 1000", adapter, "said", 1000),
                 ("adapter, 1000 others (contacts absent)", adapter, "absent", 1000)]
    out = []
    for name, a, mode, k in rows:
        per, nper = evaluate(head, a, valid, given, family, mode, k)
        out.append(f"  {name:40s} PER {per:.4f}  name PER {nper:.4f}")
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
    ap.add_argument("--valid-utts", type=int, default=300, help="validation utterances measured per epoch")
    ap.add_argument("--level", default="entity", choices=["entity", "phone"],
                    help="keys and values per entity, or per phone of each entity")
    ap.add_argument("--max-distractors", type=int, default=1000, help="most distractors in a training list")
    ap.add_argument("--eval-distractors", type=int, default=100, help="distractors in the per-epoch measure")
    ap.add_argument("--init", help="start from this adapter checkpoint (same shape)")
    ap.add_argument("--drop", type=float, default=0.2, help="chance that a contact said is left out of the list")
    ap.add_argument("--grounded", action="store_true",
                    help="phone-level keys also scored by the frozen head's log-posterior of their phone "
                    "(with --level phone --place late)")
    ap.add_argument("--lists", default="batch", choices=["batch", "own"],
                    help="every utterance sees the batch's list, or its own contacts and the distractors")
    ap.add_argument("--place", default="early", choices=["early", "late"],
                    help="the adapter before the head's convolutions, or after them")
    args = ap.parse_args()
    global PLACE
    PLACE = args.place
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(os.path.dirname(root), "models-quantized", "tokens.txt"), encoding="utf-8") as f:
        tok = {l.split()[0]: int(l.split()[1]) for l in f if l.strip()}
    given, family = load_pool(args.names or os.path.join(os.path.dirname(os.path.abspath(args.data)), "names.tsv"), tok)
    train = load_split(args.data, "train", given, family)
    valid = load_split(args.data, "valid", given, family)[: args.valid_utts]
    train = [u for u in train if len(u[1]) + sum(a == b for a, b in zip(u[1], u[1][1:])) <= len(u[0])]
    print(f"train: {len(train)} utterances, {sum(len(u[0]) for u in train) / 50 / 3600:.2f} h; "
          f"valid: {len(valid)}", flush=True)
    head, ck = load_head(args.head)
    for p in head.parameters():
        p.requires_grad_(False)
    adapter = Adapter(width=ck["width"], level=args.level, grounded=args.grounded)
    if args.init:
        adapter.load_state_dict(torch.load(args.init, map_location="cpu")["state"])
        print(f"initialized from {args.init}", flush=True)
    print(f"adapter: {sum(p.numel() for p in adapter.parameters()) / 1e6:.3f} M parameters", flush=True)
    print("before training:\n" + report(head, None, valid, given, family), flush=True)
    opt = torch.optim.AdamW(adapter.parameters(), lr=args.lr, weight_decay=1e-2)
    steps = len(batches(train, args.batch_frames, random.Random(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps + 10,
                                                pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    gl, fl = list(given), list(family)
    best = (9.9, -1)
    for epoch in range(args.epochs):
        adapter.train()
        started, losses = time.time(), []
        for idx in batches(train, args.batch_frames, rng):
            x, lens, labels, llens = collate(train, idx)
            entries, owner = [], []
            for j, i in enumerate(idx):
                own = [e for e in complete(train[i][2], given, family, rng) if rng.random() >= args.drop]
                entries += own
                owner += [j] * len(own)
            k = 0
            if args.max_distractors > 0:
                k = int(round(math.exp(rng.uniform(math.log(min(10, args.max_distractors)),
                                                   math.log(args.max_distractors)))))
            entries += [(rng.choice(gl), rng.choice(fl)) for _ in range(k)]
            owner += [-1] * k
            ph, pl = encode_list(entries, given, family)
            allowed = None
            if args.lists == "own":
                o = torch.tensor(owner, dtype=torch.long)
                if args.level == "phone":
                    o = o.repeat_interleave(pl)
                allowed = (o[None, :] == -1) | (o[None, :] == torch.arange(len(idx))[:, None])
            lp, _ = head_forward(head, x, adapter, adapter.embed(ph, pl), args.place, allowed)
            loss = ctc(lp.transpose(0, 1), labels, lens, llens)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(adapter.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        adapter.eval()
        per, nper = evaluate(head, adapter, valid, given, family, "said", args.eval_distractors)
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f}, valid PER {per:.4f}, name PER {nper:.4f} "
              f"(contacts + {args.eval_distractors}), {time.time() - started:.0f} s", flush=True)
        if nper < best[0]:
            best = (nper, epoch + 1)
            torch.save({"state": adapter.state_dict(), "width": ck["width"], "dim": EMB, "level": args.level, "place": args.place,
                        "grounded": args.grounded,
                        "epoch": epoch + 1,
                        "valid_name_per": nper, "args": vars(args)}, args.out)
    adapter.load_state_dict(torch.load(args.out, map_location="cpu")["state"])
    adapter.eval()
    print(f"best: epoch {best[1]} -> {args.out}\n" + report(head, adapter, valid, given, family), flush=True)
    seen = [u for u in train if u[2]][: len(valid)]
    print("the same on training utterances (names and voices it trained on):\n"
          + report(head, adapter, seen, given, family), flush=True)


if __name__ == "__main__":
    main()
