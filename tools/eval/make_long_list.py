#!/usr/bin/env python3
"""A contact list of N made-up two-word names (for long-list measurements, BENCHMARKS.md
"Long contact lists"): syllables drawn with a fixed seed, so nearly every word is new to
the lexicon and must be pronounced by the G2P.

    python3 tools/eval/make_long_list.py 200000 > list200k.txt
"""
import random
import sys

ONSETS = ["b", "br", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l", "m", "n",
          "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "y", "z"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "ie"]
CODAS = ["", "", "n", "r", "l", "s", "th", "ck", "m", "nd"]


def word(rng):
    n = rng.choice([2, 2, 3])
    w = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(n))
    return w.capitalize()


def main():
    n = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    rng = random.Random(seed)
    seen = set()
    out = sys.stdout
    while len(seen) < n:
        name = f"{word(rng)} {word(rng)}"
        if name not in seen:
            seen.add(name)
            out.write(name + "\n")


if __name__ == "__main__":
    main()
