"""The frozen Whisper tiny.en encoder's outputs for every utterance of the synthesized shards,
computed once so the CTC head trains on CPU in minutes.

    python3 tools/build/am/features.py --data DIR       # DIR/*.npz from tools/build/am/synth.py

Each utterance runs alone at its own length, exactly as nomen runs the graph (the log-mel's
dynamic-range floor and the self-attention span the whole call, so batching with padding
would change the outputs). Writes DIR/feats/SHARD.npz: `feats` float16 [frames, 2, 384]
(the output of encoder layer 3 of 4, then the final layer-normed output), `feat_off`, and the
shard's labels. Shards already done are skipped.
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whisper import Encoder, LogMel, encoder_frames  # noqa: E402

TAP_LAYERS = (2,)  # 0-based blocks whose outputs are kept besides the final output


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--wait", action="store_true", help="keep polling for new shards until none come for 60 s")
    ap.add_argument("--reverse", action="store_true", help="last shard first (for a second process)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    enc, front = Encoder.from_ct2(), LogMel()
    out_dir = os.path.join(args.data, "feats")
    os.makedirs(out_dir, exist_ok=True)
    idle = 0.0
    while True:
        todo = [p for p in sorted(glob.glob(os.path.join(args.data, "*.npz")))
                if not os.path.exists(os.path.join(out_dir, os.path.basename(p)))]
        if not todo:
            if not args.wait or idle > 60:
                break
            time.sleep(10)
            idle += 10
            continue
        idle = 0.0
        for path in reversed(todo) if args.reverse else todo:
            if os.path.exists(os.path.join(out_dir, os.path.basename(path))):
                continue  # done by another process meanwhile
            try:
                d = np.load(path)
                audio, off = d["audio"], d["audio_off"]
            except Exception:  # a shard still being written
                continue
            started = time.time()
            feats, foff = [], [0]
            with torch.no_grad():
                for i in range(len(off) - 1):
                    x = torch.from_numpy(audio[off[i] : off[i + 1]].astype(np.float32) / 32768.0)[None]
                    outs = enc(front(x), layers=TAP_LAYERS)
                    f = torch.stack([o[0] for o in outs], dim=1).numpy().astype(np.float16)
                    assert f.shape[0] == encoder_frames(x.shape[1])
                    feats.append(f)
                    foff.append(foff[-1] + len(f))
            tmp = os.path.join(out_dir, "tmp-" + os.path.basename(path))
            np.savez(tmp, feats=np.concatenate(feats), feat_off=np.array(foff, np.int64), labels=d["labels"],
                     label_off=d["label_off"], text=d["text"], voice=d["voice"])
            os.replace(tmp, os.path.join(out_dir, os.path.basename(path)))
            secs = (off[-1]) / 16000
            print(f"{path}: {secs / 60:.1f} min of audio in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
