#!/usr/bin/env python3
"""Builds models-quantized/confusions.tsv: which unit the acoustic model hears for each unit
said, counted over English sentences rendered by TTS voices that the dev set does not use
(espeak-ng en-gb voices, flite kal16 and kal; the dev set has espeak-ng en-us, flite rms and
slt, and hibari), so the rescoring's phone confusion costs are not learned from dev voices.
Only voices that models may be tuned on: never flite awb or piper en_US-joe (kept for
held-out measurement), never recorded speech.

    python3 tools/build/make_confusions.py            # needs espeak-ng, flite and a release build
                                                # with `--features dev-tools` (`nomen confusions`)

The counts are those of the acoustic model that `nomen confusions` loads by default
(whisper-tiny, the default of every nomen command; `--acoustic-model` is not passed), so
they fit `nomen transcribe --confusions` with its default model. The confusions.tsv before
this voice change (flite awb among the voices) was counted with hama, then the default.

Sentences are six words drawn (seeded) from the lexicon's words that have exactly one
pronunciation; the said units are those pronunciations. `nomen confusions` force-aligns
each rendering to its units and counts (said, heard) pairs. Deterministic for a given
lexicon, model and TTS version. Python 3 standard library only.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

VOICES = [
    ("espeak-ng", "en-gb"),
    ("espeak-ng", "en-gb-scotland"),
    ("espeak-ng", "en-gb-x-rp"),
    ("espeak-ng", "en-gb-x-gbclan"),
    ("flite", "kal16"),
    ("flite", "kal"),
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=900)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nomen", default=os.path.join(root, "target", "release", "nomen"))
    ap.add_argument("--models", default=os.path.join(root, "models-quantized"))
    ap.add_argument("--out", default=os.path.join(root, "models-quantized", "confusions.tsv"))
    ap.add_argument("--work", default=None, help="folder for the renderings (default: a temp dir)")
    a = ap.parse_args()

    prons = {}
    with open(os.path.join(a.models, "lexicon.txt"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                continue
            w, p = parts
            prons.setdefault(w, []).append(p)
    words = sorted(w for w, p in prons.items()
                   if len(p) == 1 and w.isalpha() and w.isascii() and 3 <= len(w) <= 10)
    rng = random.Random(a.seed)
    work = a.work or tempfile.mkdtemp(prefix="nomen-confusions-")
    os.makedirs(work, exist_ok=True)
    manifest = os.path.join(work, "manifest.jsonl")
    with open(manifest, "w", encoding="utf-8") as m:
        for i in range(a.sentences):
            ws = [rng.choice(words) for _ in range(6)]
            text = " ".join(ws)
            engine, voice = VOICES[i % len(VOICES)]
            wav = os.path.join(work, "s%04d.wav" % i)
            if engine == "espeak-ng":
                cmd = ["espeak-ng", "-v", voice, "-s", str(rng.choice([140, 160, 175])), "-w", wav, text]
            else:
                cmd = ["flite", "-voice", voice, "-t", text, "-o", wav]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            phones = " ".join(prons[w][0] for w in ws)
            m.write(json.dumps({"audio": os.path.basename(wav), "phones": phones, "text": text}) + "\n")
    with open(a.out, "w", encoding="utf-8") as out:
        subprocess.run([a.nomen, "confusions", "--models", a.models, "--manifest", manifest],
                       stdout=out, check=True)
    print("wrote %s from %d sentences (%s)" % (a.out, a.sentences, work), file=sys.stderr)


if __name__ == "__main__":
    main()
