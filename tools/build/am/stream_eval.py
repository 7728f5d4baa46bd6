"""Greedy CTC phone error rates of heads on whole-utterance and streamed encoder outputs of the
synthesized validation split (tools/build/am/features.py, tools/build/am/stream_features.py).

    python3 tools/build/am/stream_eval.py --data /work/data/am \\
        --row "a shipped, whole=/work/data/head-v2.pt:feats" \\
        --row "b shipped, chunk 15=/work/data/head-v2.pt:sfeats" \\
        --row "c stream head, chunk 15=/work/data/head-stream.pt:sfeats" [--md]

Each row is LABEL=HEAD:FEATS (FEATS a subfolder of DIR holding valid-*.npz). Prints per row:
PER, the greedy phones' edit distance to the labels over the labels' phones (`<wb>` left out,
as train.py's validation), and "moved", their edit distance to the greedy phones of the
reference (`--ref`, default the shipped head on whole-utterance features) over those phones.
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import load_head  # noqa: E402
from train import WB, edit_distance, greedy, load  # noqa: E402


def decode(head_path, utts):
    head, _ = load_head(head_path)
    out = []
    with torch.no_grad():
        for f, _lab in utts:
            out.append(greedy(head(torch.from_numpy(f.astype(np.float32))[None])[0]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--row", action="append", required=True, help="LABEL=HEAD:FEATS")
    ap.add_argument("--ref", default="/work/data/head-v2.pt:feats", help="HEAD:FEATS whose greedy output 'moved' counts from")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--md", action="store_true", help="print a markdown table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cache = {}

    def utts(sub):
        if sub not in cache:
            cache[sub] = load(os.path.join(args.data, sub, "valid-*.npz"))
        return cache[sub]

    def run(spec):
        head_path, sub = spec.rsplit(":", 1)
        return decode(head_path, utts(sub)), utts(sub)

    ref_hyp, ref_utts = run(args.ref)
    rows = []
    for row in args.row:
        label, spec = row.split("=", 1)
        started = time.time()
        hyp, us = run(spec)
        assert len(hyp) == len(ref_hyp), (spec, len(hyp), len(ref_hyp))
        errs = total = moved = ref_total = 0
        for h, (f, lab), r in zip(hyp, us, ref_hyp):
            lab = [t for t in lab.tolist() if t != WB]
            errs += edit_distance(h, lab)
            total += len(lab)
            moved += edit_distance(h, r)
            ref_total += len(r)
        rows.append((label, spec, errs / total, moved / ref_total))
        print(f"{label}: PER {errs / total:.4f}, moved {moved / ref_total:.4f} ({len(us)} utterances, "
              f"{time.time() - started:.0f} s)", flush=True)
    if args.md:
        print("\n| setting | head : features | PER vs labels | moved vs (a) |\n| --- | --- | --- | --- |")
        for label, spec, per, mv in rows:
            print(f"| {label} | `{spec}` | {per:.4f} | {mv:.4f} |")


if __name__ == "__main__":
    main()
