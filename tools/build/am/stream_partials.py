"""Live partials as nomen's runner (src/model/stream.rs) computes them, simulated in PyTorch
with stream.py's `StreamStep` and `Streamer`, on the synthesized validation split: how far
each partial's greedy phones are from what the whole-utterance graph says about the same
frames.

    python3 tools/build/am/stream_partials.py --data /work/data/am --head /work/data/head-stream.pt \\
        --look-ahead 0 --tail-fill 0 [--every 15] [--limit 150]

For every utterance, a partial every `--every` frames (0.3 s for 15) of the audio heard so
far: the runner's calls (each committing all but the last `--look-ahead` frames), then, for
that partial only, the uncommitted frames again with `--tail-fill` frames of quiet (zeros:
the runner's default lead-in) after the audio heard. Its greedy phones (`<wb>` left out) are
compared with the greedy phones of the shipped head (`--ref`) on the whole-utterance
features (tools/build/am/features.py) of the same frames: "moved" = edit distance over the
reference's phones, summed over all partials; also over the partials' last second only
(`tail moved`: the phones of frames within 50 of the partial's end, where the lack of right
context shows). The encoder runs once per call as in the runner, so the cost is the
runner's; `--limit` takes the first N utterances of each validation shard.
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import Full, load_head  # noqa: E402
from stream import RIGHT_SAMPLES, StreamStep, Streamer  # noqa: E402
from train import edit_distance, greedy  # noqa: E402
from whisper import encoder_frames  # noqa: E402

MAX_CALL_FRAMES = 250


def partials(call, wave, every, look_ahead, tail_fill):
    """[(p, log_probs [p, 191])] for p = every, 2 every, ... < the utterance's frames."""
    total = encoder_frames(len(wave))
    buf = np.zeros(320 * (total + tail_fill + 2) + 2 * RIGHT_SAMPLES + len(wave), np.float32)
    s = Streamer(call, buf)
    out = []
    for p in range(every, total, every):
        heard = 320 * p + RIGHT_SAMPLES  # the samples that make p frames available
        buf[:] = 0.0
        buf[:heard] = wave[:heard] if heard <= len(wave) else np.pad(wave, (0, heard - len(wave)))
        while True:
            pending = p - s.f
            if pending <= look_ahead:
                break
            n = min(pending, MAX_CALL_FRAMES)
            s.step(n, n - look_ahead if n == pending else n)
        if p > s.f:
            s.step(p - s.f + tail_fill, 0)
        out.append((p, np.stack([s.out[t] for t in range(p)])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--head", required=True)
    ap.add_argument("--ref", default="/work/data/head-v2.pt")
    ap.add_argument("--look-ahead", type=int, default=0)
    ap.add_argument("--tail-fill", type=int, default=0)
    ap.add_argument("--every", type=int, default=15)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    head, _ = load_head(args.head)
    ref_head, _ = load_head(args.ref)
    step = StreamStep(Full(head)).eval()

    def call(*xs):
        with torch.no_grad():
            return [t.numpy() for t in step(*(torch.from_numpy(np.asarray(x)) for x in xs))]

    started = time.time()
    moved = ref_n = tail_moved = tail_n = n_part = n_utt = 0
    for path in sorted(glob.glob(os.path.join(args.data, "valid-*.npz"))):
        d = np.load(path)
        w = np.load(os.path.join(args.data, "feats", os.path.basename(path)))
        off, fo = d["audio_off"], w["feat_off"]
        count = len(off) - 1 if args.limit is None else min(args.limit, len(off) - 1)
        for i in range(count):
            wave = d["audio"][off[i] : off[i + 1]].astype(np.float32) / 32768.0
            with torch.no_grad():
                ref_lp = ref_head(torch.from_numpy(w["feats"][fo[i] : fo[i + 1]].astype(np.float32))[None])[0]
            for p, lp in partials(call, wave, args.every, args.look_ahead, args.tail_fill):
                lp = torch.from_numpy(lp)
                r, h = greedy(ref_lp[:p]), greedy(lp)
                moved += edit_distance(h, r)
                ref_n += len(r)
                a = max(0, p - 50)
                rt, ht = greedy(ref_lp[a:p]), greedy(lp[a:])
                tail_moved += edit_distance(ht, rt)
                tail_n += len(rt)
                n_part += 1
            n_utt += 1
    print(f"{args.head} look-ahead {args.look_ahead} tail fill {args.tail_fill}: {n_utt} utterances, {n_part} partials: "
          f"moved {moved / max(ref_n, 1):.4f}, tail moved {tail_moved / max(tail_n, 1):.4f} "
          f"({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
