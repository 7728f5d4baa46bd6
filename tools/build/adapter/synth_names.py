#!/usr/bin/env python3
"""Synthesized sentences that hold contact names, for training the encoder-side biasing
adapter (issue 17), in the shard format of tools/build/am/synth.py (so
tools/build/am/features.py computes their encoder outputs unchanged).

    python3 tools/build/adapter/synth_names.py --names DIR/names.tsv --out DIR/speech \\
        --split train --utterances 4000 [--jobs 2]

Text: contact commands and sentences from templates ("send a message to NAME", "is NAME
coming tonight", "set up a call with NAME and NAME", ...) with names of the made-up pool
(tools/build/adapter/names.py: disjoint from every name the evaluation uses): the full
name (60%), the given name alone (30%) or the family name alone (10%); 20% of the
utterances hold no name (tools/build/am/synth.py's sentences, commands and numbers), so the
adapter also learns to stay quiet. The pool is split by a hash of the name into training
(90%) and validation names, so validation measures names the adapter never heard.
Voices and augmentation: those of tools/build/am/synth.py (espeak-ng, flite kal/kal16/slt/rms,
hibari; `--split valid`: the espeak-ng voices the training split never has; never flite awb
or piper en_US-joe). The TTS reads a name as written, by its own rules.

Labels: the lexicon's first pronunciation of each word, the pool's G2P phones of each name
part, `<wb>` between words. Each shard adds to synth.py's arrays `names` (JSON per
utterance: the names said, each {"display", "given", "family", "span": [first label, end
label)}) so training can build each utterance's list (its names and distractors) and
measure the names' phones apart.
"""
import argparse
import hashlib
import json
import os
import random
import sys
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "am"))
import synth  # noqa: E402

TEMPLATES = [
    "call {n}", "call {n} please", "call {n} on mobile", "ring {n}", "video call {n}",
    "send a message to {n}", "text {n} that i am running late", "text {n} {when}",
    "email {n} about the {thing}", "remind me to call {n} {when}", "remind me to pay {n} back",
    "set up a meeting with {n} and {m}", "is {n} coming {when}", "tell {n} i said hello",
    "share my location with {n}", "{n} called while you were out", "add {n} to the group",
    "when is my next meeting with {n}", "invite {n} for dinner {when}", "reply to {n}",
    "did {n} answer", "forward the {thing} to {n}", "ask {n} about the {thing}",
    "play the message from {n}", "{n}", "{n} and {m}", "open my chat with {n}",
    "how far away is {n}", "find the photos of {n}", "send {n} the {thing}",
    "i am meeting {n} {when}", "let {n} know the {thing} is ready",
]
SLOTS = {
    "when": synth.SLOTS["when"],
    "thing": "report letter photos invoice tickets keys plan address documents slides".split(),
}


def name_split(name):
    """train / valid by a hash of the name part (90 / 10 %)."""
    return "valid" if int(hashlib.sha1(name.lower().encode()).hexdigest()[:8], 16) % 10 == 0 else "train"


def load_pool(path, split):
    given, family = [], []
    for line in open(path, encoding="utf-8"):
        kind, spelling, phones = line.rstrip("\n").split("\t")
        if name_split(spelling) == split:
            (given if kind == "given" else family).append((spelling, phones.split()))
    return given, family


def make_texts(n, split, seed, lex, pool):
    """n (words, names) pairs: `words` as (spelling, phones or None) per word, `names` the
    names said (display, given, family, index of their first word, word count)."""
    rng = random.Random(seed)
    given, family = pool
    plain = synth.make_texts(max(1, n // 5) * 2, split, seed + 1, lex)
    out = []
    while len(out) < n:
        if rng.random() < 0.2:
            t = rng.choice(plain)
            out.append(([(w, None) for w in t.split()], []))
            continue
        tpl = rng.choice(TEMPLATES)
        words, names = [], []
        for piece in tpl.split():
            if piece in ("{n}", "{m}"):
                g, f = rng.choice(given), rng.choice(family)
                r = rng.random()
                parts = [g, f] if r < 0.6 else [g] if r < 0.9 else [f]
                names.append({"display": " ".join(p[0] for p in parts),
                              "given": g[0] if r < 0.9 else None,
                              "family": f[0] if r < 0.6 or r >= 0.9 else None,
                              "word": len(words), "words": len(parts)})
                words += [(p[0], p[1]) for p in parts]
            elif piece.startswith("{"):
                words += [(w, None) for w in rng.choice(SLOTS[piece.strip("{}")]).split()]
            else:
                words.append((piece, None))
        if all(p is not None or w in lex for w, p in words):
            out.append((words, names))
    return out


def labels_of(words, names, lex, tok):
    """Token ids (`<wb>` between words) and each name's [first, end) label span."""
    ids, starts, ends = [], [], []
    for i, (w, phones) in enumerate(words):
        if i:
            ids.append(tok["<wb>"])
        starts.append(len(ids))
        ids.extend(tok[p] for p in (phones if phones is not None else lex[w]))
        ends.append(len(ids))
    spans = [[starts[n["word"]], ends[n["word"] + n["words"] - 1]] for n in names]
    return ids, spans


def render_shard(job):
    split, shard, items, seed, out = job
    lex, tok = synth.load_lexicon()
    rows = []
    for words, names in items:
        text = " ".join(w for w, _ in words)
        lab, spans = labels_of(words, names, lex, tok)
        said = json.dumps([{"display": n["display"], "given": n["given"], "family": n["family"], "span": s}
                           for n, s in zip(names, spans)])
        rows.append((text, text.lower(), lab, {"names": said}))
    path = os.path.join(out, f"{split}-{shard:04d}.npz")
    return path, synth.render(split, rows, seed, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", required=True, help="the pool (tools/build/adapter/names.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--split", default="train", choices=["train", "valid"])
    ap.add_argument("--utterances", type=int, default=4000)
    ap.add_argument("--shard-size", type=int, default=500)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lex, _ = synth.load_lexicon()
    pool = load_pool(args.names, args.split)
    items = make_texts(args.utterances, args.split, args.seed, lex, pool)
    jobs = [(args.split, i // args.shard_size, items[i : i + args.shard_size], args.seed * 100_003 + i, args.out)
            for i in range(0, len(items), args.shard_size)]
    total = 0.0
    with Pool(args.jobs) as pool:
        for path, secs in pool.imap_unordered(render_shard, jobs):
            total += secs
            print(f"{path}: {secs / 60:.1f} min (total {total / 3600:.2f} h)", flush=True)


if __name__ == "__main__":
    main()
