#!/usr/bin/env python3
"""Reference log-probabilities from pocketsphinx for checking nomen's LM reader.

Samples a few thousand n-gram queries against a sphinx binary trie LM (default: the
CMU en-us trigram, models-quantized/en-us.lm.bin) and asks PyPI `pocketsphinx`'s
NGramModel for each probability. The queries are chosen by walking the file's own
trie (pure Python, reading only the sampled records), so they cover:

  trigram    seen trigrams                         p(w | a b) stored directly
  bigram     seen bigram, unseen trigram context   bo(a b) + p(w | b)  (or stored)
  unseen     random word triples                   full back-off to the unigram
  bos        contexts starting with <s>
  eos        </s> after seen bigrams
  hist1      one-word histories (seen bigrams and random pairs)
  unigram    no history

Output: a TSV, one query per line: `category<TAB>ln_prob<TAB>w1 w2 ... wn`, where the
last word is predicted from the others (oldest first) and ln_prob is natural log.
pocketsphinx answers in integer logmath units of base 1.0001 (truncated toward 0),
converted here with LogMath.log_to_ln; expect agreement within about 1e-4.

The Rust side is the ignored test `lm::tests::matches_pocketsphinx`:

  python3 -m venv build/venv && build/venv/bin/pip install pocketsphinx
  build/venv/bin/python tools/eval/check_lm.py --out build/lm_check.tsv
  cargo test --release lm::tests::matches_pocketsphinx -- --ignored --nocapture
"""
import argparse
import bisect
import math
import random
import struct
import sys

MAGIC = b"Trie Language Model"


def required_bits(x):
    return x.bit_length()


class TrieFile:
    """Just enough of the sphinx trie format to sample n-grams (see src/lm/sphinx.rs)."""

    def __init__(self, path):
        self.d = d = open(path, "rb").read()
        if not d.startswith(MAGIC):
            sys.exit(f"{path}: not a sphinx trie LM")
        pos = len(MAGIC)
        self.order = order = d[pos]
        pos += 1
        self.counts = list(struct.unpack_from(f"<{order}I", d, pos))
        pos += 4 * order
        if order != 3:
            sys.exit("this sampler handles trigram LMs only")
        pos += 4 + (2 * (order - 2) + 1) * 65536 * 4
        v = self.counts[0]
        self.uni_next = [struct.unpack_from("<I", d, pos + 12 * i + 8)[0] for i in range(v + 1)]
        pos += 12 * (v + 1)
        self.word_bits = required_bits(v)
        self.mid_bits = self.word_bits + 32 + required_bits(self.counts[2])
        self.mid_base = pos
        pos += ((self.counts[1] + 1) * self.mid_bits + 7) // 8 + 8
        self.top_bits = self.word_bits + 16
        self.top_base = pos
        pos += ((self.counts[2] + 1) * self.top_bits + 7) // 8 + 8
        (k,) = struct.unpack_from("<i", d, pos)
        self.words = d[pos + 4 : pos + 4 + k].decode("utf-8").split("\0")[:-1]
        assert len(self.words) == v

    def _read(self, base, bit, nbits):
        byte = base + (bit >> 3)
        (x,) = struct.unpack_from("<Q", self.d, byte)
        return (x >> (bit & 7)) & ((1 << nbits) - 1)

    def mid_word(self, i):
        return self._read(self.mid_base, i * self.mid_bits, self.word_bits)

    def mid_next(self, i):
        return self._read(
            self.mid_base, i * self.mid_bits + self.word_bits + 32, self.mid_bits - self.word_bits - 32
        )

    def top_word(self, i):
        return self._read(self.top_base, i * self.top_bits, self.word_bits)

    def n_bigrams(self):
        return self.uni_next[-1]

    def bigram(self, i):
        """Record i of level 2 as (w1, w2): its word, and the unigram it hangs under."""
        w2 = bisect.bisect_right(self.uni_next, i) - 1
        return self.mid_word(i), w2

    def children(self, i):
        return range(self.mid_next(i), self.mid_next(i + 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", default="models-quantized/en-us.lm.bin")
    ap.add_argument("--out", default="build/lm_check.tsv")
    ap.add_argument("--per-category", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from pocketsphinx import Config, LogMath, NGramModel

    logmath = LogMath()  # base 1.0001, the base sphinx LMs are stored in
    config = Config()
    model = NGramModel(config, logmath, args.lm)
    t = TrieFile(args.lm)
    rnd = random.Random(args.seed)
    words = t.words
    bos, eos = words.index("<s>"), words.index("</s>")
    n = args.per_category

    def rand_word():
        w = rnd.randrange(len(words))
        return w if w not in (bos, eos) else rand_word()

    def rand_bigram_with_children():
        while True:
            i = rnd.randrange(t.n_bigrams())
            if len(t.children(i)) > 0:
                return i

    queries = []  # (category, [word ids, oldest first, predicted last])
    for _ in range(n):  # seen trigrams
        i = rand_bigram_with_children()
        w1, w2 = t.bigram(i)
        kids = t.children(i)
        w0 = t.top_word(rnd.choice(kids))
        queries.append(("trigram", [w0, w1, w2]))
    for _ in range(n):  # seen bigram (w1 w2), random older word: usually backs off
        w1, w2 = t.bigram(rnd.randrange(t.n_bigrams()))
        queries.append(("bigram", [rand_word(), w1, w2]))
    for _ in range(n):  # random triples: mostly unseen
        queries.append(("unseen", [rand_word(), rand_word(), rand_word()]))
    for _ in range(n):  # <s> contexts
        r = rnd.random()
        if r < 0.3:
            queries.append(("bos", [bos, rand_word()]))
        elif r < 0.6:
            # seen bigram (<s> w), then a random word: usually backs off
            while True:
                w1, w2 = t.bigram(rnd.randrange(t.n_bigrams()))
                if w1 == bos:
                    break
            queries.append(("bos", [bos, w2, rand_word()]))
        else:
            # seen trigram (<s> a b): level-2 record (a under b) with <s> among its children
            while True:
                j = rand_bigram_with_children()
                if any(t.top_word(c) == bos for c in t.children(j)):
                    break
            a, b = t.bigram(j)
            queries.append(("bos", [bos, a, b]))
    for _ in range(n // 2):  # </s> after seen bigrams
        w1, w2 = t.bigram(rnd.randrange(t.n_bigrams()))
        if w2 == eos or w1 == eos:
            continue
        queries.append(("eos", [w1, w2, eos]))
    for _ in range(n):  # one-word histories
        if rnd.random() < 0.5:
            queries.append(("hist1", list(t.bigram(rnd.randrange(t.n_bigrams())))))
        else:
            queries.append(("hist1", [rand_word(), rand_word()]))
    for _ in range(n // 3):
        queries.append(("unigram", [rand_word()]))
    queries.append(("unigram", [eos]))
    queries.append(("unigram", [bos]))

    with open(args.out, "w", encoding="utf-8") as f:
        f.write(f"# lm={args.lm} pocketsphinx NGramModel, ln probabilities\n")
        for cat, ids in queries:
            ws = [words[i] for i in ids]
            # pocketsphinx wants the predicted word first, then the history newest first.
            p = model.prob(list(reversed(ws)))
            f.write(f"{cat}\t{logmath.log_to_ln(p):.7f}\t{' '.join(ws)}\n")
    print(f"wrote {len(queries)} queries to {args.out}")


if __name__ == "__main__":
    main()
