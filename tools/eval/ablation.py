#!/usr/bin/env python3
"""The biasing ablation table of BENCHMARKS.md: each technique switch setting decoded over
the dev and real sets and scored by the team's score.py, one markdown row per setting.

    python3 tools/eval/ablation.py --eval ../shared/eval

Python 3 standard library only. "dev wall RTF" is the whole dev run (loading, list
preparation and G2P included) over the dev audio's length: read it as relative.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SETTINGS = [
    ("unbiased", "--no-bias"),
    ("1 adaptive alone", "--no-class-lm --no-lookup --no-rescore"),
    ("2 class LM alone", "--no-adaptive --no-lookup --no-rescore"),
    ("1+2 (first pass)", "--no-lookup --no-rescore"),
    ("1+2+3 rescoring", "--no-lookup"),
    ("1+2+4 lookup", "--no-rescore"),
    ("all (default)", ""),
    ("all + 5 G2G variants 2", "--g2g-variants 2"),
    ("all + English renderings", "--anglicize"),
    ("all + learned confusions", "--confusions"),
    ("all + 3-best rescoring", "--rescore-nbest 3"),
    ("all, lexicon prons only", "--g2p-nbest 0"),
    ("all, G2P 2-best", "--g2p-nbest 2"),
    ("all, every pronunciation the same (no pron costs)", "--pron-weight 0"),
    ("all, anchor bonus without its cost guard", "--rescore-anchor-cost 1"),
    ("all, no anchor bonus", "--rescore-anchor 0"),
]


def run(nomen, manifest, flags, out):
    with open(out, "w") as f:
        subprocess.run([nomen, "transcribe", "--manifest", manifest, "--format", "jsonl", "-q"]
                       + flags.split(), stdout=f, check=False)


def score(score_py, manifest, hyp, subset):
    out = subprocess.run([sys.executable, score_py, manifest, hyp, "--json", "--set", subset],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", default="../shared/eval")
    ap.add_argument("--nomen", default="target/release/nomen")
    a = ap.parse_args()
    score_py = os.path.join(a.eval, "score.py")
    dev = os.path.join(a.eval, "dev", "manifest.jsonl")
    real = os.path.join(a.eval, "real", "manifest.jsonl")
    audio_s = sum(json.loads(l).get("duration_s", 0) for l in open(dev) if l.strip())
    tmp = tempfile.mkdtemp()
    f2 = lambda x: "n/a" if x is None else "%.2f" % x
    f3 = lambda x: "n/a" if x is None else "%.3f" % x
    print("| setting | D1 WER | D1 U-WER | D1 B-WER | D1 P | D1 R | D1 F1 | D1 FA | D2 WER | D2 B-WER | D2 F1 | R WER | dev wall RTF |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, flags in SETTINGS:
        hd, hr = os.path.join(tmp, "dev.jsonl"), os.path.join(tmp, "real.jsonl")
        t = time.time()
        run(a.nomen, dev, flags, hd)
        wall = time.time() - t
        run(a.nomen, real, flags, hr)
        d1, d2 = score(score_py, dev, hd, "D1"), score(score_py, dev, hd, "D2")
        r = score(score_py, real, hr, "R")
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.4f |" % (
            name, f2(d1["wer"]), f2(d1["u_wer"]), f2(d1["b_wer"]), f3(d1["entity_precision"]),
            f3(d1["entity_recall"]), f3(d1["entity_f1"]), f3(d1["false_alarm_rate"]),
            f2(d2["wer"]), f2(d2["b_wer"]), f3(d2["entity_f1"]), f2(r["wer"]), wall / audio_s))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
