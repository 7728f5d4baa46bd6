"""The frozen Whisper tiny.en encoder's outputs as the STREAMING graph computes them
(tools/build/am/stream.py), for training and measuring a head for live partials.

    python3 tools/build/am/stream_features.py --data /work/data/am [--chunk 15] [--shards valid-0000 ...]
        [--limit N] [--threads 1] [--reverse]

Each utterance is run as nomen's streaming runner runs it with no look-ahead: calls of
`--chunk` new encoder frames (15 = one partial every 0.3 s), every frame committed, each
encoder layer attending over the keys and values kept of the frames before plus the call's
own frames (nothing after the call), the log-mel's dynamic-range floor following the running
maximum (-10 at the start). The computation is stream.py's own `StreamStep.encode`, so what a
head trains on here is what the streaming graph feeds its head. The last call of an
utterance is shorter (its frames end at the whole-utterance frame count,
(S // 160 + 2) // 2; audio past the end is zeros, as the graph's caller pads). No lead-in is
put before the audio (as tools/build/am/features.py: the synthesized utterances start with
0.05-0.6 s of quiet).

`--look-ahead L` commits all but the last L frames of every call but the last (computed
again by the next call), as nomen's runner does with LOOK_AHEAD (for measuring the shipped
setting).

Writes DIR/sfeats/SHARD.npz (DIR/sfeats-cN/ for a chunk N other than 15, a suffix -laL for a
look-ahead) in features.py's
layout: `feats` float16 [frames, 2, 384] (encoder layer 3 of 4, then the final layer norm),
`feat_off`, and the shard's labels, text and voices. Shards already done are skipped; with
`--limit N` the shards are cut to their first N utterances (for quick measurements).
"""
import argparse
import glob
import os
import sys
import time
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream import LEFT_SAMPLES, RIGHT_SAMPLES, StreamStep  # noqa: E402
from whisper import D_MODEL, N_LAYERS, Encoder, LogMel, encoder_frames  # noqa: E402

PEAK_START = -10.0


def make_step():
    """stream.py's StreamStep without a head (only `encode` is used)."""
    return StreamStep(types.SimpleNamespace(front=LogMel(), enc=Encoder.from_ct2(), head=None)).eval()


def stream_taps(step, wave, chunk, look_ahead=0):
    """Streamed encoder taps of one utterance `wave` (float32 [S]): [T, taps, 384]. With a
    look-ahead L, the calls are nomen's runner's with LOOK_AHEAD = L: call k runs the frames
    from the first not yet committed to chunk (k + 1) (the frames heard by then) and
    commits all but the last L, which the next call computes again; the last call commits
    all. The frames' taps are those of the call that committed them."""
    total = encoder_frames(len(wave))
    padded = np.zeros(LEFT_SAMPLES + 320 * total + RIGHT_SAMPLES, np.float32)
    padded[LEFT_SAMPLES : LEFT_SAMPLES + len(wave)] = wave[: len(padded) - LEFT_SAMPLES]
    k = torch.zeros(N_LAYERS, 0, D_MODEL)
    v = torch.zeros(N_LAYERS, 0, D_MODEL)
    peak = torch.full((1,), PEAK_START)
    out = []
    f = end = 0
    while f < total:
        end = min(end + chunk, total)
        n = end - f
        commit = n if end == total else n - look_ahead
        if commit <= 0:
            continue
        # Samples [320 f - 520, 320 (f + n) + 200) of the utterance (zeros outside it).
        audio = torch.from_numpy(padded[320 * f : 320 * (f + n) + LEFT_SAMPLES + RIGHT_SAMPLES])[None]
        taps, ks, vs, peak = step.encode(audio, torch.arange(f, f + n), peak, k, v)
        out.append(torch.stack([t[0, :commit] for t in taps], dim=1))
        k = torch.cat([k, torch.stack(ks)[:, :commit]], 1)
        v = torch.cat([v, torch.stack(vs)[:, :commit]], 1)
        f += commit  # the running maximum kept covers the look-ahead's audio too, as in the runner
    return torch.cat(out).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--chunk", type=int, default=15)
    ap.add_argument("--look-ahead", type=int, default=0, help="frames recomputed by the next call (for measuring)")
    ap.add_argument("--shards", nargs="*", help="shard names (e.g. valid-0000); default all")
    ap.add_argument("--limit", type=int, help="only the first N utterances of each shard")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reverse", action="store_true", help="last shard first (for a second process)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    step = make_step()
    name = "sfeats" if args.chunk == 15 else f"sfeats-c{args.chunk}"
    out_dir = os.path.join(args.data, name + (f"-la{args.look_ahead}" if args.look_ahead else ""))
    os.makedirs(out_dir, exist_ok=True)
    paths = sorted(glob.glob(os.path.join(args.data, "*.npz")))
    if args.shards:
        paths = [p for p in paths if os.path.basename(p)[:-4] in args.shards]
    for path in reversed(paths) if args.reverse else paths:
        dest = os.path.join(out_dir, os.path.basename(path))
        if os.path.exists(dest):
            continue
        started = time.time()
        d = np.load(path)
        audio, off = d["audio"], d["audio_off"]
        lab, loff = d["labels"], d["label_off"]
        n_utt = len(off) - 1 if args.limit is None else min(args.limit, len(off) - 1)
        feats, foff = [], [0]
        with torch.no_grad():
            for i in range(n_utt):
                wave = audio[off[i] : off[i + 1]].astype(np.float32) / 32768.0
                f = stream_taps(step, wave, args.chunk, args.look_ahead).astype(np.float16)
                feats.append(f)
                foff.append(foff[-1] + len(f))
        tmp = os.path.join(out_dir, "tmp-" + os.path.basename(path))
        np.savez(tmp, feats=np.concatenate(feats), feat_off=np.array(foff, np.int64), labels=lab[: loff[n_utt]],
                 label_off=loff[: n_utt + 1], text=d["text"][:n_utt], voice=d["voice"][:n_utt])
        os.replace(tmp, dest)
        secs = (off[n_utt] - off[0]) / 16000
        print(f"{path}: {n_utt} utterances, {secs / 60:.1f} min of audio in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
