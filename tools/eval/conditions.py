#!/usr/bin/env python3
"""How recording conditions change nomen's WER (BENCHMARKS.md "Recording conditions").

    python3 tools/eval/conditions.py --eval ../shared/eval [--set real2] [--nomen BIN]... [--flags "..."]...

Makes copies of every file of the set under each condition (16-bit PCM WAV):

  as recorded    the files themselves
  x0.03 .. x2    scaled (x2 clipped at full scale)
  DC +0.01/+0.05 a constant offset added
  8 kHz          resampled to 8 kHz by sox (telephone band; the 8 kHz DF files unchanged)
  44.1 kHz       resampled to 44.1 kHz by sox
  48 kHz stereo  resampled to 48 kHz by sox, the right channel the left at 0.7

transcribes each copy with every `--nomen` binary and `--flags` setting (each pair is a
column), scores it with the set's score.py and prints a markdown table of WER per subset
and overall. Needs sox (Debian `sox`); otherwise Python 3 standard library only.
"""
import argparse
import array
import json
import os
import subprocess
import sys
import tempfile
import wave

CONDITIONS = [
    ("as recorded", {}),
    ("x0.03 (-30 dB)", {"gain": 0.03}),
    ("x0.1 (-20 dB)", {"gain": 0.1}),
    ("x0.5 (-6 dB)", {"gain": 0.5}),
    ("x2 (+6 dB, clipped)", {"gain": 2.0}),
    ("DC +0.01", {"dc": 0.01}),
    ("DC +0.05", {"dc": 0.05}),
    ("8 kHz (telephone band)", {"sox": ["-r", "8000"]}),
    ("44.1 kHz", {"sox": ["-r", "44100"]}),
    ("48 kHz stereo", {"sox": ["-r", "48000"], "stereo": True}),
]


def read(path):
    w = wave.open(path)
    if w.getsampwidth() != 2:
        raise SystemExit("%s: only 16-bit PCM is handled" % path)
    x = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        x.byteswap()
    return w.getframerate(), w.getnchannels(), x


def write(path, rate, channels, x):
    if sys.byteorder != "little":
        x = array.array("h", x)
        x.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())


def clip16(v):
    return max(-32768, min(32767, int(round(v))))


def make_copy(src, dst, cond):
    rate, ch, x = read(src)
    if "gain" in cond:
        x = array.array("h", (clip16(v * cond["gain"]) for v in x))
    if "dc" in cond:
        x = array.array("h", (clip16(v + cond["dc"] * 32768) for v in x))
    write(dst, rate, ch, x)
    if "sox" in cond:
        target = int(cond["sox"][1])
        if rate == target:
            pass
        else:
            tmp = dst + ".tmp.wav"
            subprocess.run(["sox", dst, "-b", "16", tmp, "rate", "-v", str(target)], check=True)
            os.replace(tmp, dst)
    if cond.get("stereo"):
        rate, ch, x = read(dst)
        if ch == 1:
            y = array.array("h", [0]) * (2 * len(x))
            y[0::2] = x
            y[1::2] = array.array("h", (clip16(v * 0.7) for v in x))
            write(dst, rate, 2, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", default="../shared/eval")
    ap.add_argument("--set", default="real2")
    ap.add_argument("--nomen", action="append", default=None,
                    help="nomen binary (repeatable; default target/release/nomen)")
    ap.add_argument("--flags", action="append", default=None,
                    help="nomen flags, one string per setting (repeatable; default: none)")
    ap.add_argument("--only", default="", help="comma-separated condition numbers (from 0)")
    a = ap.parse_args()
    binaries = a.nomen or ["target/release/nomen"]
    flag_sets = a.flags or [""]
    manifest = os.path.join(a.eval, a.set, "manifest.jsonl")
    base = os.path.dirname(os.path.abspath(manifest))
    rows = [json.loads(l) for l in open(manifest) if l.strip()]
    subsets = sorted({r.get("set", "?") for r in rows})
    score_py = os.path.join(a.eval, "score.py")
    tmp = tempfile.mkdtemp(prefix="nomen-conditions-")
    conds = CONDITIONS
    if a.only:
        conds = [CONDITIONS[int(i)] for i in a.only.split(",")]
    columns = [(b, f) for b in binaries for f in flag_sets]
    def label(b, f):
        who = (b + " ") if len(binaries) > 1 else ""
        return "%s%s: %s" % (who, f or "defaults", " / ".join(subsets + ["ALL"]))
    print("| condition | " + " | ".join(label(b, f) for b, f in columns) + " |")
    print("|" + " --- |" * (1 + len(columns)))
    for ci, (name, cond) in enumerate(conds):
        d = os.path.join(tmp, "c%d" % ci)
        os.makedirs(d)
        m = os.path.join(d, "manifest.jsonl")
        with open(m, "w") as f:
            for r in rows:
                dst = os.path.join(d, r["id"] + ".wav")
                make_copy(os.path.join(base, r["audio"]), dst, cond)
                f.write(json.dumps(dict(r, audio=r["id"] + ".wav")) + "\n")
        cells = []
        for b, flags in columns:
            hyp = os.path.join(d, "hyp.jsonl")
            with open(hyp, "w") as f:
                subprocess.run([b, "transcribe", "-q", "--manifest", m, "--format", "jsonl"]
                               + flags.split(), stdout=f, check=True)
            wers = []
            for s in subsets + ["ALL"]:
                cmd = [sys.executable, score_py, m, hyp, "--json"]
                if s != "ALL":
                    cmd += ["--set", s]
                out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                wers.append("%.1f" % out["wer"])
            cells.append(" / ".join(wers))
        print("| %s | %s |" % (name, " | ".join(cells)), flush=True)
        for r in rows:
            os.remove(os.path.join(d, r["id"] + ".wav"))


if __name__ == "__main__":
    main()
