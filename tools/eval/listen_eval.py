#!/usr/bin/env python3
"""Stream an eval manifest through the live pipeline and compare with the offline path.

Each row runs `nomen listen --input WAV --format jsonl [--realtime] [--entities BIAS_LIST]`
(BIAS_LIST: the row's own list); the row's final events, joined, are its hypothesis. The same
manifest goes through `nomen transcribe --manifest`. Both are scored with the team's
score.py; latencies come from the events' `latency_ms` (finals: end of speech -> final;
partials: capture of the last sample covered -> partial) and `endpoint_latency_ms` (finals:
endpoint declared -> final).

Python 3 standard library only. Example (from the repository root):

    python3 tools/eval/listen_eval.py ../shared/eval/dev/manifest.jsonl --jobs 3

Rows run `--jobs` at a time (they compete for the CPU: say so next to the numbers).
"""

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import time


def spoken(row):
    """A hypothesis's spoken form (nomen prints written form in `text` and the spoken in
    `spoken`; the references are spoken)."""
    return row.get("spoken", row.get("text", ""))


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_row(args, base, row):
    cmd = [args.nomen, "listen", "--input", os.path.join(base, row["audio"]),
           "--format", "jsonl", "-q"]
    if not args.fast:
        cmd.append("--realtime")
    if args.append_silence > 0:
        cmd += ["--append-silence", str(args.append_silence)]
    if row.get("bias_list") and not args.no_bias:
        cmd += ["--entities", os.path.join(base, row["bias_list"])]
    cmd += args.extra.split()
    p = subprocess.run(cmd, capture_output=True, text=True)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return row, p.returncode, p.stderr, events


def score(score_py, manifest, hyps):
    out = subprocess.run([sys.executable, score_py, manifest, hyps, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--nomen", default="target/release/nomen")
    ap.add_argument("--score", default=None, help="score.py (default: next to the manifest's folder)")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--fast", action="store_true", help="no --realtime (latencies then mean nothing)")
    ap.add_argument("--append-silence", type=float, default=1.0,
                    help="silence streamed after each file so that finals come from endpointing")
    ap.add_argument("--no-bias", action="store_true")
    ap.add_argument("--out", default=None, help="folder for the hypothesis files")
    ap.add_argument("--extra", default="", help="more `nomen listen` flags, one string")
    args = ap.parse_args()

    manifest = os.path.abspath(args.manifest)
    base = os.path.dirname(manifest)
    score_py = args.score or os.path.join(os.path.dirname(base), "score.py")
    rows = [json.loads(l) for l in open(manifest) if l.strip()]
    out_dir = args.out or tempfile.mkdtemp(prefix="nomen-listen-eval-")
    os.makedirs(out_dir, exist_ok=True)

    t0 = time.time()
    results = {}
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for row, rc, err, events in ex.map(lambda r: run_row(args, base, r), rows):
            if rc != 0:
                print("row %s failed (%d): %s" % (row["id"], rc, err.strip()), file=sys.stderr)
            results[row["id"]] = events
    wall = time.time() - t0

    stream_hyp = os.path.join(out_dir, "hyp_listen.jsonl")
    fin_lat, ep_lat, part_lat, n_final, n_err, not_one = [], [], [], 0, 0, 0
    with open(stream_hyp, "w") as f:
        for row in rows:
            ev = results[row["id"]]
            finals = [e for e in ev if e["type"] == "final"]
            n_final += len(finals)
            not_one += len(finals) != 1
            n_err += sum(1 for e in ev if e["type"] == "error")
            fin_lat += [e["latency_ms"] for e in finals if e.get("latency_ms") is not None]
            ep_lat += [e["endpoint_latency_ms"] for e in finals if e.get("endpoint_latency_ms") is not None]
            part_lat += [e["latency_ms"] for e in ev if e["type"] == "partial" and e.get("latency_ms") is not None]
            text = " ".join(spoken(e) for e in finals if spoken(e))
            f.write(json.dumps({"id": row["id"], "text": text}) + "\n")

    off_hyp = os.path.join(out_dir, "hyp_offline.jsonl")
    cmd = [args.nomen, "transcribe", "--manifest", manifest, "--format", "jsonl", "-q"]
    if args.no_bias:
        cmd.append("--no-bias")
    with open(off_hyp, "w") as f:
        subprocess.run(cmd, stdout=f, check=False)

    s_on, s_off = score(score_py, manifest, stream_hyp), score(score_py, manifest, off_hyp)
    off_text = {json.loads(l)["id"]: spoken(json.loads(l)) for l in open(off_hyp) if l.strip()}
    on_text = {json.loads(l)["id"]: spoken(json.loads(l)) for l in open(stream_hyp) if l.strip()}
    differ = [i for i in on_text if on_text[i] != off_text.get(i)]

    def f1(s):
        return "n/a" if s.get("entity_f1") is None else "%.3f" % s["entity_f1"]

    print("manifest: %s (%d rows, %d at a time, %s, %.1f s appended silence), wall %.0f s"
          % (args.manifest, len(rows), args.jobs, "as fast as possible" if args.fast else "real time",
             args.append_silence, wall))
    print("finals: %d (rows without exactly one: %d), error events: %d, rows whose streamed "
          "text differs from offline: %d" % (n_final, not_one, n_err, len(differ)))
    print("| path | WER | entity F1 |")
    print("| --- | --- | --- |")
    print("| offline `transcribe` | %.2f%% | %s |" % (s_off["wer"], f1(s_off)))
    print("| streamed `listen` | %.2f%% | %s |" % (s_on["wer"], f1(s_on)))
    print("WER difference %+.2f points, entity F1 difference %s" % (
        s_on["wer"] - s_off["wer"],
        "n/a" if s_on.get("entity_f1") is None else "%+.3f" % (s_on["entity_f1"] - s_off["entity_f1"])))
    for name, xs in [("final, end of speech -> final", fin_lat),
                     ("final, endpoint declared -> final", ep_lat),
                     ("partial, audio -> partial", part_lat)]:
        print("latency %s: n=%d p50 %.0f ms, p95 %.0f ms, max %.0f ms"
              % (name, len(xs), pct(xs, 50), pct(xs, 95), max(xs) if xs else float("nan")))
    for i in differ[:10]:
        print("  %s\n    offline:  %s\n    streamed: %s" % (i, off_text.get(i), on_text[i]))
    print("hypotheses in", out_dir)


if __name__ == "__main__":
    main()
