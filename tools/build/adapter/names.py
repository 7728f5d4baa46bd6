#!/usr/bin/env python3
"""A pool of made-up contact names for training the encoder-side biasing adapter (issue 17).

    python3 tools/build/adapter/names.py --out DIR/names.tsv [--given 3000 --family 3000]

Names are generated, not taken from anywhere: syllables drawn from the spelling patterns of
several naming traditions (English, Romance, Slavic, Germanic/Nordic, Celtic, East and
Southeast Asian romanizations, South Asian, West and East African, Arabic/Persian/Turkish,
Polynesian), two or three syllables for a given name and two to four for a family name.
A made-up word that is a word of nomen's lexicon is dropped (the adapter is for names the
lexicon does not know), and so is every word of every name the evaluation uses: the names
of ../shared/eval (contact lists and manifests' entities), the held-out set's names
(tools/eval/make_heldout.py) and the test fixtures' contacts. So the pool is disjoint from
what the adapter is measured on, as the issue asks; nothing else of ../shared/eval is read.

Writes one name part per line, `kind<TAB>spelling<TAB>phones` (kind `given` or `family`;
phones: hama's G2P, as nomen pronounces a name it does not know, in `tokens.txt` symbols
separated by spaces). Seeded; needs PyPI `hama` (tools/requirements.txt).
"""
import argparse
import glob
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MODELS = os.path.join(ROOT, "models-quantized")

# Per tradition: onsets, vowels, codas (spelling), and the chance of a coda.
STYLES = {
    "english": (["b", "br", "ch", "d", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "sh", "st",
                 "t", "th", "tr", "w", "wh", "c", "cl", "fl", "gr"],
                ["a", "e", "i", "o", "u", "ay", "ee", "ia", "ea", "ie", "y"],
                ["n", "r", "l", "s", "t", "d", "ck", "ll", "nd", "rt", "son", "ton", "ley", "by"], 0.5),
    "romance": (["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "gi", "ch", "br", "fr", "gu"],
                ["a", "e", "i", "o", "u", "ia", "io", "ue", "ai"],
                ["n", "r", "l", "s", "z", "nz", "lla", "tto", "nes"], 0.35),
    "slavic": (["b", "d", "dr", "g", "k", "kr", "l", "m", "n", "p", "r", "s", "sl", "st", "t", "v", "z", "zd",
                "cz", "sz", "w", "br", "j"],
               ["a", "e", "i", "o", "u", "y", "ie", "ia"],
               ["k", "v", "n", "r", "sz", "ski", "ska", "vic", "nko", "wicz", "ov", "ova"], 0.45),
    "nordic": (["b", "bj", "d", "f", "g", "h", "j", "k", "l", "m", "n", "r", "s", "sv", "t", "v", "st", "sk"],
               ["a", "e", "i", "o", "u", "ei", "ø", "aa", "y"],
               ["n", "r", "rd", "rn", "lf", "gg", "sen", "strom", "berg", "dal", "stad"], 0.55),
    "celtic": (["b", "c", "d", "f", "g", "l", "m", "n", "r", "s", "t", "bh", "dh", "mh", "ch", "gr", "br"],
               ["a", "ai", "ao", "ea", "ei", "i", "io", "o", "u", "ui", "ia"],
               ["n", "r", "ll", "dh", "gh", "ch", "nn", "rd", "lan"], 0.5),
    "east_asian": (["b", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "q", "s", "sh", "t", "w",
                    "x", "y", "z", "zh", "ts", "ng"],
                   ["a", "ai", "ao", "e", "ei", "i", "ia", "iu", "o", "ou", "u", "ui", "uo", "ue", "ya", "yo"],
                   ["n", "ng", "m", "k", "t"], 0.4),
    "south_asian": (["b", "bh", "ch", "d", "dh", "g", "gh", "h", "j", "k", "kh", "l", "m", "n", "p", "r", "s",
                     "sh", "t", "th", "v", "y", "pr", "shr"],
                    ["a", "aa", "e", "i", "ee", "o", "u", "ai", "au"],
                    ["n", "m", "r", "l", "sh", "t", "nd", "j", "kar", "wal", "pal"], 0.4),
    "african": (["b", "ch", "d", "f", "g", "k", "kw", "l", "m", "mb", "n", "nd", "ng", "ny", "nk", "o", "s",
                 "t", "w", "y", "z", "ts", "gb", "kp"],
                ["a", "e", "i", "o", "u", "ia", "ua"],
                ["", "n", "m"], 0.15),
    "arabic": (["b", "d", "f", "gh", "h", "j", "k", "kh", "l", "m", "n", "q", "r", "s", "sh", "t", "y", "z",
                "dh", "th"],
               ["a", "aa", "i", "ii", "u", "ou", "ei", "e"],
               ["d", "f", "h", "l", "m", "n", "r", "s", "t", "z", "an", "ir", "im"], 0.5),
    "polynesian": (["h", "k", "l", "m", "n", "p", "t", "w", "wh", "ng", "f", "v"],
                   ["a", "e", "i", "o", "u", "ai", "au", "ei", "oa"],
                   [""], 0.0),
}


def made_up(rng, syllables):
    onsets, vowels, codas, p_coda = STYLES[rng.choice(sorted(STYLES))]
    parts = []
    for i in range(syllables):
        onset = rng.choice(onsets) if i or rng.random() < 0.85 else ""
        coda = rng.choice(codas) if rng.random() < p_coda and i == syllables - 1 or rng.random() < p_coda / 3 else ""
        parts.append(onset + rng.choice(vowels) + coda)
    word = "".join(parts)
    word = re.sub(r"(.)\1\1+", r"\1\1", word)  # no triple letters
    return word[:1].upper() + word[1:]


def eval_words(eval_dir):
    """Every word of every name the evaluation uses (lower case)."""
    names = []
    for path in glob.glob(os.path.join(eval_dir, "**", "*.txt"), recursive=True):
        if os.sep + "lists" + os.sep in path or os.path.basename(path).startswith("contacts"):
            names += [l.split("\t")[0] for l in open(path, encoding="utf-8")]
    for path in glob.glob(os.path.join(eval_dir, "**", "manifest.jsonl"), recursive=True):
        for line in open(path, encoding="utf-8"):
            try:
                names += json.loads(line).get("entities") or []
            except ValueError:
                pass
    heldout = open(os.path.join(ROOT, "tools", "eval", "make_heldout.py"), encoding="utf-8").read()
    names += re.findall(r"[A-Z][a-z']+", heldout.split('NAMES = """', 1)[1].split('"""', 1)[0])
    names += open(os.path.join(ROOT, "tests", "fixtures", "bias", "contacts.txt"), encoding="utf-8").read().split()
    return {w.lower() for n in names for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", n)}


def lexicon_words():
    with open(os.path.join(MODELS, "lexicon.txt"), encoding="utf-8") as f:
        return {line.split("\t", 1)[0] for line in f}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--given", type=int, default=3000)
    ap.add_argument("--family", type=int, default=3000)
    ap.add_argument("--eval", default=os.path.join(ROOT, "..", "shared", "eval"))
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    if not os.path.isdir(args.eval):
        sys.exit(f"{args.eval}: not found (the names to keep out of the pool)")
    banned = eval_words(args.eval) | lexicon_words()
    with open(os.path.join(MODELS, "tokens.txt"), encoding="utf-8") as f:
        tokens = {l.split()[0] for l in f if l.strip()}
    from hama import G2PModel

    g2p = G2PModel()
    rng = random.Random(args.seed)
    seen, rows = set(), []
    for kind, n, syl in [("given", args.given, (2, 3)), ("family", args.family, (2, 4))]:
        made = 0
        while made < n:
            w = made_up(rng, rng.randint(*syl))
            if w.lower() in banned or w.lower() in seen or len(w) < 3:
                continue
            phones = [a.phoneme for a in g2p.predict(w).alignments if a.phoneme in tokens]
            if len(phones) < 2:
                continue
            seen.add(w.lower())
            rows.append(f"{kind}\t{w}\t{' '.join(phones)}")
            made += 1
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    print(f"{args.out}: {args.given} given and {args.family} family names; "
          f"{len(banned)} words kept out (evaluation names and lexicon words)")


if __name__ == "__main__":
    main()
