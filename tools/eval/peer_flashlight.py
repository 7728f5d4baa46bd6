#!/usr/bin/env python3
"""Peer comparison: flashlight-text's lexicon decoder (as in torchaudio's ctc_decoder) on the
exact log-posteriors nomen decodes, with the same lexicon and word LM, and the entity list
given as boosted whole-name lexicon words (Riva-style word boosting).

Inputs come from nomen's developer exports (same model, same segmentation, same LM scores;
built with `cargo build --release --features dev-tools`):

  nomen export-arpa /tmp/peer/en-us.arpa                  # the word LM as ARPA (log10)
  nomen transcribe --manifest M --format jsonl -q \\
      --dump-posteriors /tmp/peer/post_dev \\            # [T, 191] f32 per segment + index.jsonl
      --dump-entity-prons /tmp/peer/prons_dev.jsonl       # every list's entities + prons

Then:

  python3 tools/eval/peer_flashlight.py check-lm --arpa A --scores S   # KenLM vs nomen scores
  python3 tools/eval/peer_flashlight.py decode --post DIR --manifest M --arpa A \\
      [--prons P.jsonl --boost 3] --out hyps.jsonl
  python3 tools/eval/peer_flashlight.py sweep --post DIR --manifest M --arpa A --prons P.jsonl \\
      --grid 'lm_weight=0.8,1.15;word_score=-1.5,0;boost=2,4'       # scores each with score.py

Entities: each entity of the row's list (nomen's entries: full names and, unless
--full-only, given or family names alone) becomes one lexicon word `#ent#<Display>` whose
spellings are the pronunciations nomen searches for it (nomen's G2P n-best + lexicon prons,
multi-word names with and without the word-boundary token between words). The word is added
to the ARPA as a unigram with log10 probability `ENT_BASE + boost` (ENT_BASE = -7, about a
rare word of the LM: its median unigram is -6.6) and back-off 0, so after it the LM context
restarts, as after nomen's class LM. Flashlight's KenLM scores are log10 (the decoder adds
lm_weight * log10 p), while the posteriors are ln: lm_weight 1.15 here is nomen's 0.5.
The word-boundary token `<wb>` is flashlight's silence token; `<blank>` its blank.
Requires: pip install flashlight-text numpy.
"""
import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from flashlight.lib.text.decoder import (
    CriterionType,
    KenLM,
    LexiconDecoder,
    LexiconDecoderOptions,
    SmearingMode,
    Trie,
)
from flashlight.lib.text.dictionary import Dictionary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models-quantized")
SCORER = "/work/shared/eval/score.py"
ENT_BASE = -7.0
ENT_PREFIX = "#ent#"


def spoken_form(word):
    """nomen's recognizer::spoken_form: how a lexicon word is written in the transcript."""
    special = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
    if word in special:
        return special[word]
    if len(word) > 1 and word.endswith("."):
        return " ".join(p for p in word.split(".") if p)
    return word


def load_tokens(path):
    sym = {}
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").rsplit(" ", 1)
        if len(parts) == 2:
            sym[parts[0]] = int(parts[1])
    return sym


def arpa_vocab(path):
    vocab = set()
    with open(path, encoding="utf-8") as f:
        section = False
        for line in f:
            if line.startswith("\\1-grams:"):
                section = True
                continue
            if section:
                if line.startswith("\\"):
                    break
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    vocab.add(parts[1])
    return vocab


def ent_word(display):
    return ENT_PREFIX + display.replace(" ", "_")


def write_boosted_arpa(base, out, ent_words, logp):
    """Copies the ARPA `base` to `out` with `ent_words` added as unigrams of log10 `logp`."""
    ent_words = sorted(set(ent_words))
    with open(base, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        state = "head"
        for line in f:
            if state == "head" and line.startswith("ngram 1="):
                n = int(line.split("=")[1])
                g.write(f"ngram 1={n + len(ent_words)}\n")
                continue
            if line.startswith("\\1-grams:"):
                state = "uni"
            elif state == "uni" and (not line.strip() or line.startswith("\\")):
                for w in ent_words:
                    g.write(f"{logp:.6f}\t{w}\t0.000000\n")
                state = "rest"
            g.write(line)


def load_prons(path, full_only):
    """list path -> [(display, [[symbols...], ...])]."""
    lists = {}
    if not path:
        return lists
    for line in open(path, encoding="utf-8"):
        e = json.loads(line)
        if full_only and e["partial"]:
            continue
        lists.setdefault(e["list"], []).append((e["entity"], e["prons"]))
    return lists


def read_manifest(path):
    base = os.path.dirname(path)
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            bl = r.get("bias_list")
            r["_list"] = os.path.join(base, bl) if bl else None
            rows.append(r)
    return rows


def read_posteriors(post_dir):
    """id -> [(start_s, array [T, V] float32)] in segment order, plus nomen's decode time."""
    out, nomen_s = {}, {}
    for line in open(os.path.join(post_dir, "index.jsonl"), encoding="utf-8"):
        e = json.loads(line)
        a = np.fromfile(os.path.join(post_dir, e["file"]), dtype="<f4")
        a = np.ascontiguousarray(a.reshape(e["frames"], e["vocab"]))
        out.setdefault(e["id"], []).append((e["start_s"], a))
        nomen_s[e["id"]] = nomen_s.get(e["id"], 0.0) + e.get("nomen_decode_s", 0.0)
    return out, nomen_s


class Peer:
    """The lexicon, LM and decoder settings; one trie per entity list."""

    def __init__(self, args):
        self.args = args
        self.sym = load_tokens(args.tokens)
        self.blank = self.sym["<blank>"]
        self.sil = self.sym["<wb>"]
        vocab = arpa_vocab(args.arpa)
        self.lexicon = []  # (word, [token ids])
        skipped = 0
        for line in open(args.lexicon, encoding="utf-8"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                continue
            word, phones = parts
            ids = [self.sym.get(p) for p in phones.split()]
            if word not in vocab or not ids or None in ids:
                skipped += 1
                continue
            self.lexicon.append((word, ids))
        self.prons = load_prons(args.prons, args.full_only)
        self.words = Dictionary()
        for w, _ in self.lexicon:
            if not self.words.contains(w):
                self.words.add_entry(w)
        for w in ["<unk>", "<s>", "</s>"]:
            if not self.words.contains(w):
                self.words.add_entry(w)
        ents = set()
        for entries in self.prons.values():
            for display, _ in entries:
                ents.add(ent_word(display))
        for w in sorted(ents):
            self.words.add_entry(w)
        self.words.set_default_index(self.words.get_index("<unk>"))
        self.unk = self.words.get_index("<unk>")
        arpa = args.arpa
        if ents and args.boost is not None:
            arpa = os.path.join(args.work, f"boosted_{args.boost:g}.arpa")
            write_boosted_arpa(args.arpa, arpa, ents, ENT_BASE + args.boost)
        t = time.time()
        self.lm = KenLM(arpa, self.words)
        log(f"lexicon {len(self.lexicon)} prons ({skipped} skipped: not in LM), "
            f"{len(ents)} entity words, LM loaded in {time.time() - t:.1f} s")
        self.opts = LexiconDecoderOptions(
            beam_size=args.beam,
            beam_size_token=args.beam_token,
            beam_threshold=args.beam_threshold,
            lm_weight=args.lm_weight,
            word_score=args.word_score,
            unk_score=-math.inf,
            sil_score=args.sil_score,
            log_add=False,
            criterion_type=CriterionType.CTC,
        )
        self.tries = {}

    def trie_for(self, list_path):
        """The lexicon trie plus the entities of `list_path` (None or no boost: lexicon only)."""
        key = list_path if (list_path in self.prons and self.args.boost is not None) else None
        if key in self.tries:
            return self.tries[key]
        t = time.time()
        trie = Trie(len(self.sym), self.sil)
        start = self.lm.start(False)
        # Entities first: a trie node holds at most 6 words, later homophones are dropped.
        if key is not None:
            for display, prons in self.prons[key]:
                idx = self.words.get_index(ent_word(display))
                s = self.lm.score(start, idx)[1]
                for p in prons:
                    ids = [self.sym[x] for x in p]
                    trie.insert(ids, idx, s)
        score_of = {}
        for w, ids in self.lexicon:
            idx = self.words.get_index(w)
            if idx not in score_of:
                score_of[idx] = self.lm.score(start, idx)[1]
            trie.insert(ids, idx, score_of[idx])
        trie.smear(SmearingMode.MAX)
        log(f"trie for {key or 'no list'} built in {time.time() - t:.1f} s")
        self.tries[key] = trie
        return trie

    def decode(self, post, list_path):
        """Best word sequence over an utterance's segments, and seconds spent decoding."""
        trie = self.trie_for(list_path)
        dec = LexiconDecoder(self.opts, trie, self.lm, self.sil, self.blank, self.unk, [], False)
        words, spent = [], 0.0
        for _, a in post:
            t = time.perf_counter()
            res = dec.decode(a.ctypes.data, a.shape[0], a.shape[1])
            spent += time.perf_counter() - t
            if not res:
                continue
            for i in res[0].words:
                if i < 0:
                    continue
                w = self.words.get_entry(i)
                if w.startswith(ENT_PREFIX):
                    words.append(w[len(ENT_PREFIX):].replace("_", " "))
                else:
                    words.append(spoken_form(w))
        return " ".join(words), spent


def log(msg):
    print(f"peer: {msg}", file=sys.stderr, flush=True)


def run_decode(args, peer=None):
    peer = peer or Peer(args)
    rows = read_manifest(args.manifest)
    post, nomen_s = read_posteriors(args.post)
    out, total, nomen_total = [], 0.0, 0.0
    for r in rows:
        text, spent = peer.decode(post.get(r["id"], []), r["_list"])
        total += spent
        nomen_total += nomen_s.get(r["id"], 0.0)
        out.append({"id": r["id"], "audio": r["audio"], "text": text,
                    "decode_s": round(spent, 4)})
    with open(args.out, "w", encoding="utf-8") as f:
        for o in out:
            f.write(json.dumps(o) + "\n")
    log(f"{len(out)} utterances, flashlight decode {total:.2f} s "
        f"(nomen's decode of the dumped run: {nomen_total:.2f} s) -> {args.out}")
    return total


def score(manifest, hyps):
    res = subprocess.run([sys.executable, SCORER, manifest, hyps], capture_output=True,
                         text=True, check=True)
    return res.stdout


def run_sweep(args):
    grid = {}
    for part in args.grid.split(";"):
        k, v = part.split("=")
        grid[k.strip()] = [float(x) if x != "none" else None for x in v.split(",")]
    keys = list(grid)
    results = []
    # Boost changes the LM file: group by it so each LM is loaded once.
    combos = sorted(itertools.product(*grid.values()),
                    key=lambda c: str(c[keys.index("boost")]) if "boost" in keys else "")
    peer = None
    last_boost = object()
    for combo in combos:
        for k, v in zip(keys, combo):
            setattr(args, k, v)
        if peer is None or args.boost != last_boost:
            peer = Peer(args)
            last_boost = args.boost
        else:
            peer.opts.lm_weight = args.lm_weight
            peer.opts.word_score = args.word_score
            peer.opts.sil_score = args.sil_score
            peer.opts.beam_size = int(args.beam)
        tag = "_".join(f"{k}{v:g}" if v is not None else f"{k}none" for k, v in zip(keys, combo))
        args.out = os.path.join(args.work, f"sweep_{tag}.jsonl")
        spent = run_decode(args, peer)
        table = score(args.manifest, args.out)
        results.append((tag, spent, table))
        sets = [l for l in table.splitlines() if l.split()[:1] and l.split()[0] in ("D1", "D2", "R", "ALL")]
        print(f"== {tag}  decode {spent:.1f} s")
        print("\n".join(sets), flush=True)


def run_check_lm(args):
    rows = [l.rstrip("\n").split("\t") for l in open(args.scores, encoding="utf-8")]
    words = Dictionary()
    for w in sorted({w for r in rows for w in r[0].split()} | {"<s>", "</s>", "<unk>"}):
        words.add_entry(w)
    lm = KenLM(args.arpa, words)
    n = skipped = bad = 0
    worst = 0.0
    for sent, ref in rows:
        st = lm.start(False)
        for w, r in zip(sent.split() + ["</s>"], ref.split()):
            st, s = lm.finish(st) if w == "</s>" else lm.score(st, words.get_index(w))
            n += 1
            if r in ("-inf", "inf"):
                skipped += 1  # not in nomen's vocabulary: KenLM's <unk> instead
                continue
            worst = max(worst, abs(s - float(r)))
            bad += abs(s - float(r)) > 1e-3
    print(f"{n} words, {skipped} out of vocabulary, {bad} differ by >1e-3 log10, "
          f"largest difference {worst:.2e}")
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check-lm", help="compare KenLM on the ARPA with `nomen export-arpa --score`")
    c.add_argument("--arpa", required=True)
    c.add_argument("--scores", required=True)
    for name in ("decode", "sweep"):
        d = sub.add_parser(name)
        d.add_argument("--post", required=True, help="nomen --dump-posteriors DIR")
        d.add_argument("--manifest", required=True)
        d.add_argument("--arpa", required=True, help="nomen export-arpa OUT")
        d.add_argument("--prons", help="nomen --dump-entity-prons FILE (none: unbiased)")
        d.add_argument("--tokens", default=os.path.join(MODELS, "tokens.txt"))
        d.add_argument("--lexicon", default=os.path.join(MODELS, "lexicon.txt"))
        d.add_argument("--work", default="/tmp/peer", help="for the boosted ARPA files")
        d.add_argument("--boost", type=float, default=None,
                       help="entity words' LM log10 prob is -7 + boost, at most 7 (none: unbiased)")
        d.add_argument("--full-only", action="store_true",
                       help="only full list entries, no given/family names alone")
        d.add_argument("--lm-weight", type=float, default=1.15)
        d.add_argument("--word-score", type=float, default=-1.5)
        d.add_argument("--sil-score", type=float, default=0.0)
        d.add_argument("--beam", type=int, default=50)
        d.add_argument("--beam-token", type=int, default=191)
        d.add_argument("--beam-threshold", type=float, default=16.0)
        if name == "decode":
            d.add_argument("--out", required=True)
        else:
            d.add_argument("--grid", required=True,
                           help="'lm_weight=a,b;word_score=c,d;boost=e,f;sil_score=...'")
    args = ap.parse_args()
    if args.cmd == "check-lm":
        sys.exit(0 if run_check_lm(args) else 1)
    os.makedirs(getattr(args, "work", "/tmp/peer"), exist_ok=True)
    if args.cmd == "decode":
        run_decode(args)
        print(score(args.manifest, args.out))
    else:
        run_sweep(args)


if __name__ == "__main__":
    main()
