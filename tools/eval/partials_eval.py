#!/usr/bin/env python3
"""How live partials read against their utterance's final (BENCHMARKS.md, "Live partials").

Runs `nomen listen --input ROW --format jsonl` (files read as fast as possible, every
partial computed) over rows of a manifest and reports, over all partials:

- kept:  words of a partial that its final keeps, in order: sum LCS(partial, final) / sum
         partial words (a partial's words that later vanish or change count against it);
- shown: how much of what had been said the partial shows: sum LCS(partial, the final's
         words up to the partial's time share of the utterance) / sum of those words;
- frames: the model frames computed per frame heard is not measured here (see
         src/model/stream.rs).

    python3 tools/eval/partials_eval.py ../shared/eval/dev/manifest.jsonl --every 2 [--nomen BIN] [-- EXTRA FLAGS]
"""
import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def run(nomen, wav, extra):
    out = subprocess.run([nomen, "listen", "-q", "--input", wav, "--format", "jsonl", *extra],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"{wav}: {out.stderr}")
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def score(events):
    """(partials, kept LCS, partial words, shown LCS, said words, finals' text)."""
    n = kept = pw = shown = said = 0
    partials = []
    finals = []
    for ev in events:
        if ev.get("type") == "partial":
            partials.append(ev)
            continue
        if ev.get("type") != "final":
            continue
        # Partials are in spoken form; compare finals in the same form.
        final = ev.get("spoken", ev["text"])
        finals.append(final)
        fw = final.split()
        span = max(1e-6, ev["end"] - ev["start"])
        for p in partials:
            words = p["text"].split()
            n += 1
            kept += lcs(words, fw)
            pw += len(words)
            share = min(1.0, max(0.0, (p["end"] - ev["start"]) / span))
            before = fw[: round(share * len(fw))]
            shown += lcs(words, before)
            said += len(before)
        partials = []
    return n, kept, pw, shown, said, finals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--every", type=int, default=1, help="every k-th row")
    ap.add_argument("--nomen", default="target/release/nomen")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--finals-out", help="write each row's finals (JSON lines) here")
    ap.add_argument("extra", nargs="*", help="more flags for nomen listen (after --)")
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.manifest))
    rows = [json.loads(l) for l in open(a.manifest) if l.strip()][:: a.every]
    wavs = [os.path.join(base, r["audio"]) for r in rows]
    with ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(lambda w: score(run(a.nomen, w, a.extra)), wavs))
    n = sum(r[0] for r in results)
    kept = sum(r[1] for r in results) / max(1, sum(r[2] for r in results))
    shown = sum(r[3] for r in results) / max(1, sum(r[4] for r in results))
    print(f"{a.manifest}: {len(rows)} rows, {n} partials, kept {kept:.3f}, shown {shown:.3f}")
    if a.finals_out:
        with open(a.finals_out, "w") as f:
            for r, res in zip(rows, results):
                f.write(json.dumps({"id": r.get("id"), "finals": res[5]}) + "\n")


if __name__ == "__main__":
    main()
