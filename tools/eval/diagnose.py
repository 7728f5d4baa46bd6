#!/usr/bin/env python3
"""Where the words of an eval set are lost, stage by stage (BENCHMARKS.md "Where the words go").

    python3 tools/eval/diagnose.py --eval ../shared/eval --set real2 [--sets DA,DF] [-- nomen flags]

Runs `nomen transcribe` over the set's manifest with the posteriors dumped (a build with
`cargo build --release --features dev-tools`), then, for every
row whose transcript is not the reference, finds the first stage that loses it:

  segmenter     no stretch of speech found in the file (nothing reached the model);
  model: blank  the model's best unit is blank in every frame (greedy phones empty);
  model         the model's frames fit the decoder's words better than the reference's:
                acoustic log-likelihood (best CTC path, best of the lexicon's pronunciations,
                optional word boundaries) of the reference below that of the hypothesis;
  LM/bonus      the frames fit the reference better, but the LM and the word bonus of
                the decoder's own scoring (lm_weight * ln p + word_bonus per word) tip
                it to the hypothesis (an empty hypothesis has only ln p(</s> | <s>));
  search        the reference scores higher by the decoder's own scoring, yet the search
                returned the hypothesis (pruned);
  vocabulary    a reference word has no pronunciation in the lexicon or no LM entry.

Prints one table per set (rows and word errors per stage, and the greedy phone error rate:
edit distance of the greedy phones to the closest lexicon pronunciation of the reference,
word boundaries ignored), and with --rows every lost row. Python 3 standard library only.
"""
import argparse
import array
import collections
import json
import math
import os
import subprocess
import sys
import tempfile

NEG = -1e30


def read_tokens(path):
    toks = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line:
            toks.append(line.rsplit(" ", 1)[0])
    return toks


def read_lexicon(path, tok_id):
    """word -> list of pronunciations (token ids); only pronunciations in the model's units."""
    lex = collections.defaultdict(list)
    for line in open(path, encoding="utf-8"):
        w, _, p = line.rstrip("\n").partition("\t")
        ids = [tok_id.get(x) for x in p.split()]
        if ids and None not in ids and ids not in lex[w]:
            lex[w].append(ids)
    return lex


def spoken_form(w):
    """As the recognizer writes lexicon words (src/recognizer.rs `spoken_form`)."""
    abbrev = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
    if w in abbrev:
        return abbrev[w]
    if len(w) > 1 and w.endswith("."):
        return " ".join(x for x in w.split(".") if x)
    return w


def viterbi(post, vocab, words, blank, wb):
    """ln probability of the best CTC path of `words` (each a list of alternative
    pronunciations) over frames `post` (flat ln probabilities), word boundaries optional
    between words; the best path, not the sum, as the decoder merges paths (max). Empty
    `words`: all blank."""
    # Token nodes: (label, successors); START's successors are the first tokens.
    labels, succ = [], []
    firsts = []  # per word: node ids of its pronunciations' first tokens
    lasts = []
    for prons in words:
        f, l = [], []
        for p in prons:
            ids = []
            for t in p:
                labels.append(t)
                succ.append([])
                ids.append(len(labels) - 1)
            for a, b in zip(ids, ids[1:]):
                succ[a].append(b)
            f.append(ids[0])
            l.append(ids[-1])
        firsts.append(f)
        lasts.append(l)
    for i in range(len(words) - 1):
        if wb is not None:
            labels.append(wb)
            succ.append(list(firsts[i + 1]))
            w = len(labels) - 1
        for e in lasts[i]:
            succ[e].extend(firsts[i + 1])
            if wb is not None:
                succ[e].append(w)
    n = len(labels)
    ends = set(lasts[-1]) if words else set()
    # States: 0 = leading blank, 1 + 2k = token k, 2 + 2k = blank after token k.
    preds = [[] for _ in range(2 * n + 1)]  # (from_state, allowed)
    for k in range(n):
        preds[2 + 2 * k].append(1 + 2 * k)
    for k, ss in enumerate(succ):
        for j in ss:
            preds[1 + 2 * j].append(2 + 2 * k)
            if labels[j] != labels[k]:
                preds[1 + 2 * j].append(1 + 2 * k)
    starts = set(firsts[0]) if words else set()
    frames = len(post) // vocab
    emit = lambda s, t: post[t * vocab + (blank if s % 2 == 0 else labels[(s - 1) // 2])]
    alpha = [NEG] * (2 * n + 1)
    alpha[0] = emit(0, 0) if frames else 0.0
    for k in starts:
        alpha[1 + 2 * k] = emit(1 + 2 * k, 0)
    for t in range(1, frames):
        new = [NEG] * (2 * n + 1)
        new[0] = alpha[0] + emit(0, t)
        for s in range(1, 2 * n + 1):
            a = alpha[s]
            if s % 2 == 1 and (s - 1) // 2 in starts:
                a = max(a, alpha[0])
            for p in preds[s]:
                a = max(a, alpha[p])
            if a > NEG:
                new[s] = a + emit(s, t)
        alpha = new
    if not words:
        return alpha[0]
    tot = NEG
    for k in ends:
        tot = max(tot, max(alpha[1 + 2 * k], alpha[2 + 2 * k]))
    return tot


def empty_sentence_logprob(arpa):
    """ln p(</s> | <s>) in an ARPA LM: the LM score of a hypothesis with no words."""
    uni, bigram, section = {}, None, None
    for line in open(arpa, encoding="utf-8"):
        if line.startswith("\\"):
            section = line.strip()
            if section == "\\3-grams:":
                break
            continue
        f = line.split("\t")
        if section == "\\1-grams:" and len(f) >= 2 and f[1].strip() in ("<s>", "</s>"):
            uni[f[1].strip()] = (float(f[0]), float(f[2]) if len(f) > 2 else 0.0)
        elif section == "\\2-grams:" and len(f) >= 2 and f[1].strip() == "<s> </s>":
            bigram = float(f[0])
    log10 = bigram if bigram is not None else uni["<s>"][1] + uni["</s>"][0]
    return log10 * math.log(10)


def edit(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[len(b)]


def norm(text):
    return " ".join("".join(c if c.isalnum() or c in "' " else " " for c in text.lower()).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", default="../shared/eval")
    ap.add_argument("--set", default="real2", help="folder of the eval set")
    ap.add_argument("--sets", default="", help="comma-separated subsets (default: all)")
    ap.add_argument("--nomen", default="target/release/nomen")
    ap.add_argument("--models", default="models-quantized")
    ap.add_argument("--lm-weight", type=float, default=0.5)
    ap.add_argument("--word-bonus", type=float, default=-1.5)
    ap.add_argument("--rows", action="store_true", help="print every lost row")
    ap.add_argument("flags", nargs="*", help="more nomen flags (after --)")
    a = ap.parse_args()
    manifest = os.path.join(a.eval, a.set, "manifest.jsonl")
    rows = [json.loads(l) for l in open(manifest) if l.strip()]
    if a.sets:
        keep = set(a.sets.split(","))
        rows = [r for r in rows if r.get("set") in keep]
    tmp = tempfile.mkdtemp(prefix="nomen-diagnose-")
    sub = os.path.join(tmp, "manifest.jsonl")
    base = os.path.dirname(os.path.abspath(manifest))
    with open(sub, "w") as f:
        for r in rows:
            r2 = dict(r, audio=os.path.join(base, r["audio"]))
            f.write(json.dumps(r2) + "\n")
    dump = os.path.join(tmp, "post")
    hyp_path = os.path.join(tmp, "hyp.jsonl")
    with open(hyp_path, "w") as f:
        subprocess.run([a.nomen, "transcribe", "-q", "--manifest", sub, "--format", "jsonl",
                        "--dump-posteriors", dump] + a.flags, stdout=f, check=True)
    hyps = {}
    for l in open(hyp_path):
        h = json.loads(l)
        hyps[h["id"]] = h.get("spoken", h["text"])  # written form scored as spoken
    segs = collections.defaultdict(list)
    for l in open(os.path.join(dump, "index.jsonl")):
        s = json.loads(l)
        segs[s["id"]].append(s)

    toks = read_tokens(os.path.join(a.models, "tokens.txt"))
    tok_id = {t: i for i, t in enumerate(toks)}
    blank, wb = tok_id["<blank>"], tok_id.get("<wb>")
    lex = read_lexicon(os.path.join(a.models, "lexicon.txt"), tok_id)
    by_spoken = collections.defaultdict(list)  # transcript word -> lexicon words
    for w in lex:
        by_spoken[spoken_form(w)].append(w)

    def lex_words(text, letters):
        """Transcript words -> lexicon words (None where a word has none); `letters`: a
        single letter is the letter ("i."), not the word ("i")."""
        out = []
        ws = text.split()
        i = 0
        while i < len(ws):
            # "u s" may be one lexicon word ("u.s."): longest match first.
            for n in (3, 2, 1):
                cand = by_spoken.get(" ".join(ws[i:i + n]))
                if cand and i + n <= len(ws):
                    if n == 1 and letters and ws[i] + "." in cand:
                        out.append(ws[i] + ".")
                    else:
                        out.append(cand[0] if ws[i] in cand else sorted(cand, key=len)[0])
                    i += n
                    break
            else:
                out.append(None)
                i += 1
        return out

    # LM scores (log10 per word and </s>) for every reference and hypothesis, in one call.
    texts = {}
    for r in rows:
        for key, text in (("ref", norm(r["text"])), ("hyp", norm(hyps.get(r["id"], "")))):
            variants = [lex_words(text, False)]
            if lex_words(text, True) != variants[0]:
                variants.append(lex_words(text, True))
            texts[(r["id"], key)] = variants
    lines = sorted({" ".join(lw) for vs in texts.values() for lw in vs if lw and None not in lw})
    qpath = os.path.join(tmp, "lmq.txt")
    with open(qpath, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run([a.nomen, "export-arpa", os.path.join(tmp, "lm.arpa"), "--models", a.models,
                          "--score", qpath], capture_output=True, text=True, check=True).stdout
    lm = {}
    for l in out.splitlines():
        text, _, scores = l.partition("\t")
        lm[text] = sum(float(x) for x in scores.split()) * math.log(10)
    lm_empty = empty_sentence_logprob(os.path.join(tmp, "lm.arpa"))
    os.remove(os.path.join(tmp, "lm.arpa"))

    stages = ["segmenter", "model: blank", "model", "LM/bonus", "search", "vocabulary", "several segments"]
    table = collections.defaultdict(lambda: collections.Counter())
    per = collections.defaultdict(lambda: [0, 0])
    lost = []
    for r in rows:
        sset = r.get("set", "?")
        ref, hyp = norm(r["text"]), norm(hyps.get(r["id"], ""))
        table[sset]["rows"] += 1
        table[sset]["words"] += len(ref.split())
        ss = segs.get(r["id"], [])
        post, greedy = None, []
        if len(ss) == 1:
            s = ss[0]
            post = array.array("f")
            with open(os.path.join(dump, s["file"]), "rb") as f:
                post.frombytes(f.read())
            if sys.byteorder != "little":
                post.byteswap()
            vocab = s["vocab"]
            greedy, prev = [], None
            for t in range(s["frames"]):
                row = post[t * vocab:(t + 1) * vocab]
                best = max(range(vocab), key=row.__getitem__)
                if best != prev and best != blank and best != wb:
                    greedy.append(best)
                prev = best
            rw = texts[(r["id"], "ref")][0]
            if None not in rw:
                best_pron = []
                for w in rw:
                    best_pron.append(min(lex[w], key=lambda p: edit(greedy, p)))
                # Closest pronunciation of each word, joined (as issue 13's PER).
                flat = [t for p in best_pron for t in p]
                per[sset][0] += edit(greedy, flat)
                per[sset][1] += len(flat)
        if ref == hyp:
            continue
        errs = edit(ref.split(), hyp.split())
        why = ""
        if not ss:
            stage = "segmenter"
        elif len(ss) > 1:
            stage = "several segments"
        elif not greedy:
            stage = "model: blank"
        else:
            def best(variants, empty_ok):
                """(total, acoustic, LM) of the best-scoring spelling, None if none scores."""
                out = None
                for lw in variants:
                    if not lw and empty_ok:
                        ac, lp = viterbi(post, vocab, [], blank, wb), lm_empty
                    elif lw and None not in lw and " ".join(lw) in lm:
                        ac, lp = viterbi(post, vocab, [lex[w] for w in lw], blank, wb), lm[" ".join(lw)]
                    else:
                        continue
                    tot = ac + a.lm_weight * lp + a.word_bonus * len(lw)
                    if out is None or tot > out[0]:
                        out = (tot, ac, lp)
                return out

            ref_s = best(texts[(r["id"], "ref")], False)
            hyp_s = best(texts[(r["id"], "hyp")], True) or (NEG, NEG, NEG)
            if ref_s is None:
                stage = "vocabulary"
            else:
                (tot_ref, ac_ref, lm_ref), (tot_hyp, ac_hyp, lm_hyp) = ref_s, hyp_s
                why = "acoustic %.1f vs %.1f, LM %.1f vs %.1f, total %.1f vs %.1f" % (
                    ac_ref, ac_hyp, lm_ref, lm_hyp, tot_ref, tot_hyp)
                if ac_ref < ac_hyp:
                    stage = "model"
                elif tot_ref < tot_hyp:
                    stage = "LM/bonus"
                else:
                    stage = "search"
        table[sset][stage + " rows"] += 1
        table[sset][stage + " words"] += errs
        table[sset]["lost rows"] += 1
        table[sset]["errors"] += errs
        lost.append((r["id"], stage, ref, hyp, " ".join(toks[t] for t in greedy), why))

    print("| set | rows | ref words | rows wrong (word errors) | " + " | ".join(stages) + " | greedy PER |")
    print("|" + " --- |" * (5 + len(stages)))
    for sset in sorted(table):
        c = table[sset]
        cells = ["%d (%d)" % (c[st + " rows"], c[st + " words"]) for st in stages]
        p = per[sset]
        print("| %s | %d | %d | %d (%d) | %s | %s |" % (
            sset, c["rows"], c["words"], c["lost rows"], c["errors"], " | ".join(cells),
            "%.3f" % (p[0] / p[1]) if p[1] else "n/a"))
    if a.rows:
        for row in lost:
            print("%-24s %-12s ref=%r hyp=%r greedy=%s (ref vs hyp: %s)" % row)


if __name__ == "__main__":
    main()
