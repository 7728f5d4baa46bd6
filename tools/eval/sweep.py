#!/usr/bin/env python3
"""Decode the eval manifests with several decoder settings and score each (dev tuning).

Usage: python3 tools/eval/sweep.py --eval ../shared/eval --grid "lm-weight=0.6,0.8,1.0 word-bonus=0,1"
Prints one line per setting: WER of R; D2 WER and B-WER; D1 WER, U-WER, entity F1 and false
alarms; WER of D1's rows without names; the run time.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time


def score(score_py, manifest, hyps, subset=None):
    args = [sys.executable, score_py, manifest, hyps, "--json"]
    if subset:
        args += ["--set", subset]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default="../shared/eval")
    ap.add_argument("--nomen", default="target/release/nomen")
    ap.add_argument("--grid", default="", help="space-separated name=v1,v2 lists of nomen flags")
    ap.add_argument("extra", nargs="*", help="extra nomen flags")
    a = ap.parse_args()
    grid = [g.split("=") for g in a.grid.split()]
    names = [g[0] for g in grid]
    values = [g[1].split(",") for g in grid]
    score_py = os.path.join(a.eval, "score.py")
    tmp = tempfile.mkdtemp()
    # D1 rows without names, as their own manifest next to the dev one's lists.
    dev = os.path.join(a.eval, "dev", "manifest.jsonl")
    nn_path = os.path.join(tmp, "d1_noname.jsonl")
    with open(dev) as f, open(nn_path, "w") as g:
        for line in f:
            r = json.loads(line)
            if r["set"] == "D1" and not r["entities"]:
                r["audio"] = os.path.join(os.path.abspath(os.path.dirname(dev)), r["audio"])
                r["bias_list"] = None
                g.write(json.dumps(r) + "\n")
    print("setting\tR\tD2\tD2-BWER\tD1\tD1-UWER\tD1-F1\tD1-FA\tD1-noname\tseconds", flush=True)
    for combo in itertools.product(*values) if grid else [()]:
        flags = [f"--{n}={v}" for n, v in zip(names, combo)] + a.extra
        res = {}
        t0 = time.time()
        for name, man in (("R", os.path.join(a.eval, "real", "manifest.jsonl")), ("D", dev)):
            hyp = os.path.join(tmp, f"{name}.jsonl")
            with open(hyp, "w") as out:
                subprocess.run([a.nomen, "transcribe", "--manifest", man, "--format", "jsonl", "-q"] + flags,
                               stdout=out, check=True)
            res[name] = hyp
        secs = time.time() - t0
        r = score(score_py, os.path.join(a.eval, "real", "manifest.jsonl"), res["R"])
        d = score(score_py, dev, res["D"])
        # Score the no-name subset on the same hypotheses (--lenient skips the other ids).
        out = subprocess.run([sys.executable, score_py, nn_path, res["D"], "--json", "--lenient"],
                             capture_output=True, text=True, check=True).stdout
        nn = json.loads(out)
        def wer(j, s=None):
            x = j["per_set"][s] if s else j
            return x["wer"]
        d1, d2 = d["per_set"]["D1"], d["per_set"]["D2"]
        f1 = d1["entity_f1"] if d1["entity_f1"] is not None else float("nan")
        fa = d1["false_alarm_rate"] if d1["false_alarm_rate"] is not None else float("nan")
        print(f"{' '.join(flags) or 'defaults'}\t{wer(r):.2f}\t{d2['wer']:.2f}\t{d2['b_wer']:.2f}\t"
              f"{d1['wer']:.2f}\t{d1['u_wer']:.2f}\t{f1:.3f}\t{fa:.3f}\t{wer(nn):.2f}\t{secs:.1f}", flush=True)


if __name__ == "__main__":
    main()
