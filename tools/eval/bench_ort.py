#!/usr/bin/env python3
"""onnxruntime side of `nomen bench`: times the same ONNX graphs on the same WAV files with
one thread, the way nomen feeds them (0.3 s of leading silence, windows of at most 20 s).

Prints one JSON object: {"version": ..., "seconds": {"fp32": s, "int8": s}}.
Needs numpy and onnxruntime (tools/requirements.txt).
"""
import argparse
import json
import os
import sys
import time
import wave

import numpy as np


def read_16k(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getframerate() != 16000:
            raise SystemExit(f"{path}: bench_ort.py needs 16 kHz 16-bit WAV")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(axis=1)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("wavs", nargs="+")
    a = ap.parse_args()
    import onnxruntime as ort

    clips = [np.concatenate([np.zeros(4800, np.float32), read_16k(w)]) for w in a.wavs]
    window = 20 * 16000
    pieces = [c[i : i + window] for c in clips for i in range(0, len(c), window - 4 * 16000)]
    out = {"version": ort.__version__, "seconds": {}}
    for name in ("fp32", "int8"):
        path = os.path.join(a.models, f"asr_{name}.onnx")
        if not os.path.exists(path):
            continue
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        best = float("inf")
        for _ in range(max(1, a.repeats)):
            t = time.perf_counter()
            for p in pieces:
                sess.run(None, {names[0]: p.reshape(1, -1), names[1]: np.array([len(p)], np.int64)})
            best = min(best, time.perf_counter() - t)
        out["seconds"][name] = best
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
