"""Trains nomen's CTC phone head on the frozen Whisper tiny.en encoder's outputs.

    python3 tools/build/am/train.py --data DIR --out head.pt [--epochs 12]

Reads DIR/feats/train-*.npz and valid-*.npz (tools/build/am/features.py); `--feats sfeats` reads
the streamed encoder outputs of tools/build/am/stream_features.py instead (`--feats sfeats,feats`
trains on both, validating on the first; `--train-shards` keeps only the training shards
whose names match, e.g. 'train-00[0-2]*'). The head (`Head`): a
layer norm on each tapped encoder output, a learned mix, a 384->256 projection, three
residual convolution blocks (kernel 3) and a 256->191 output layer, log-softmax over nomen's
191 tokens (189 IPA phones, `<wb>`, `<blank>`), one output per encoder frame (20 ms).
Training: CTC loss, AdamW, one-cycle learning rate (`--init` continues from a checkpoint), time and channel masking of the encoder
outputs; the epoch with the lowest greedy phone error rate on the validation split (voices
the training split never has) is kept. Seeded.
"""
import argparse
import glob
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 191
BLANK = 190
WB = 189
D_IN = 384


class Head(nn.Module):
    def __init__(self, taps=2, width=256, blocks=3, kernel=3, dropout=0.1):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(D_IN) for _ in range(taps))
        self.mix = nn.Parameter(torch.zeros(taps))
        self.proj = nn.Linear(D_IN, width)
        self.convs = nn.ModuleList(nn.Conv1d(width, width, kernel, padding=kernel // 2) for _ in range(blocks))
        self.norms2 = nn.ModuleList(nn.LayerNorm(width) for _ in range(blocks))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, VOCAB)

    def forward(self, feats):
        """feats [B, T, taps, 384] -> log-probs [B, T, 191]."""
        w = torch.softmax(self.mix, 0)
        x = sum(w[i] * self.norms[i](feats[:, :, i]) for i in range(len(self.norms)))
        x = self.drop(F.gelu(self.proj(x)))
        for conv, ln in zip(self.convs, self.norms2):
            y = conv(ln(x).transpose(1, 2)).transpose(1, 2)
            x = x + self.drop(F.gelu(y))
        return F.log_softmax(self.out(x), dim=-1)


def load(pattern):
    utts = []
    for path in sorted(glob.glob(pattern)):
        d = np.load(path)
        f, fo, lab, lo = d["feats"], d["feat_off"], d["labels"], d["label_off"]
        for i in range(len(fo) - 1):
            utts.append((f[fo[i] : fo[i + 1]], lab[lo[i] : lo[i + 1]].astype(np.int64)))
    return utts


def batches(utts, max_frames, rng):
    order = sorted(range(len(utts)), key=lambda i: len(utts[i][0]) + rng.random() * 40)
    out, cur, longest = [], [], 0
    for i in order:
        n = len(utts[i][0])
        if cur and max(longest, n) * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(utts, idx):
    T = max(len(utts[i][0]) for i in idx)
    taps = utts[idx[0]][0].shape[1]
    x = np.zeros((len(idx), T, taps, D_IN), np.float32)
    lens, labels, llens = [], [], []
    for j, i in enumerate(idx):
        f, lab = utts[i][:2]  # (features, labels, anything else)
        x[j, : len(f)] = f
        lens.append(len(f))
        labels.append(torch.from_numpy(lab))
        llens.append(len(lab))
    return torch.from_numpy(x), torch.tensor(lens), torch.cat(labels), torch.tensor(llens)


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def greedy(lp):
    ids = lp.argmax(-1).tolist()
    out, prev = [], -1
    for t in ids:
        if t != prev and t != BLANK:
            out.append(t)
        prev = t
    return [t for t in out if t != WB]


def evaluate(head, utts):
    head.eval()
    errs = total = 0
    with torch.no_grad():
        for f, lab in utts:
            lp = head(torch.from_numpy(f.astype(np.float32))[None])[0]
            ref = [t for t in lab.tolist() if t != WB]
            errs += edit_distance(greedy(lp), ref)
            total += len(ref)
    head.train()
    return errs / max(total, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-frames", type=int, default=12000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", help="start from this checkpoint (same head shape) instead of random weights")
    ap.add_argument("--feats", default="feats", help="subfolder(s) of DIR with the features, comma-separated "
                    "(training reads them all, validation the first)")
    ap.add_argument("--train-shards", default="train-*", help="glob of the training shards' names")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    subs = args.feats.split(",")
    train = [u for sub in subs for u in load(os.path.join(args.data, sub, args.train_shards + ".npz"))]
    valid = load(os.path.join(args.data, subs[0], "valid-*.npz"))
    # CTC needs at least as many frames as labels (plus one per repeated label).
    train = [u for u in train if len(u[1]) + sum(a == b for a, b in zip(u[1], u[1][1:])) <= len(u[0])]
    frames = sum(len(u[0]) for u in train)
    print(f"train: {len(train)} utterances, {frames / 50 / 3600:.2f} h; valid: {len(valid)}", flush=True)
    taps = train[0][0].shape[1]
    head = Head(taps=taps, width=args.width, blocks=args.blocks)
    if args.init:
        head.load_state_dict(torch.load(args.init, map_location="cpu")["state"])
        print(f"initialized from {args.init}", flush=True)
    print(f"head: {sum(p.numel() for p in head.parameters()) / 1e6:.3f} M parameters", flush=True)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-2)
    steps_per_epoch = len(batches(train, args.batch_frames, random.Random(0)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch + 10,
                                                pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    best = (9.9, -1)
    for epoch in range(args.epochs):
        started, losses = time.time(), []
        for idx in batches(train, args.batch_frames, rng):
            x, lens, labels, llens = collate(train, idx)
            # Masking: up to 2 spans of up to 10 frames per utterance, 10% of channels.
            for j in range(x.shape[0]):
                for _ in range(2):
                    w = rng.randint(0, 10)
                    s = rng.randint(0, max(0, int(lens[j]) - w))
                    x[j, s : s + w] = 0
            x = x * (torch.rand(x.shape[0], 1, 1, D_IN) > 0.1)
            lp = head(x)
            loss = ctc(lp.transpose(0, 1), labels, lens, llens)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        per = evaluate(head, valid)
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f}, valid PER {per:.4f}, {time.time() - started:.0f} s", flush=True)
        if per < best[0]:
            best = (per, epoch + 1)
            torch.save({"state": head.state_dict(), "taps": taps, "width": args.width, "blocks": args.blocks,
                        "valid_per": per, "epoch": epoch + 1, "args": vars(args)}, args.out)
    print(f"best: epoch {best[1]}, valid PER {best[0]:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
