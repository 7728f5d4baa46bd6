#!/usr/bin/env python3
"""Build nomen's grapheme-to-phone (G2P) model files from hama's G2P.

Source: PyPI `hama==1.3.13` (Apache-2.0), assets `hama/assets/encoder.onnx` and
`hama/assets/decoder_step.onnx` (a character-level GRU encoder and one step of an
attention GRU decoder, mixed fp16/fp32 with Casts) and `hama/assets/g2p_vocab.json`.

What this does, reproducibly:
  1. takes the hama wheel (downloads it with `pip download --no-deps` unless --wheel is
     given) and checks its SHA-256; the installed hama (the reference) must ship the same
     assets;
  2. converts both graphs to clean fp32: fp16 weights and constants widened, every fp16
     Cast removed, no value_info (the same conversion as tools/build/make_model.py);
  3. encoder: drops the GRUs' `sequence_lens` input and the sort-by-length / unsort
     (TopK, Gather, ScatterElements) that fed it. tract only runs GRUs without
     sequence_lens (or with the trivial one), and without padding both are no-ops: the
     graph is unchanged for a batch of one word, or of words with the same number of
     input symbols (which is how nomen batches). Padded rows are no longer supported;
  4. does in int64 the integer shape arithmetic that the mixed-precision export did in
     float (tract cannot carry a symbolic dimension through a float);
  5. decoder step: adds an output `log_probs` [batch, 189] = LogSoftmax of the logits
     whose ArgMax is `next_token_ids` (which is kept, so greedy decoding is unchanged),
     for beam search;
  6. writes the encoder vocabulary as `g2p_symbols.txt` (line i = symbol of id i);
  7. checks with onnxruntime that the converted graphs give the same phones and the same
     attention argmax as the original assets (hama's own greedy loop, one word at a time,
     and length-grouped batches), and that hama.G2PModel.predict gives the same phones;
  8. writes the test fixtures from hama's own output: --fixture (phones and alignment of
     ~500 inputs), tokenizer.tsv next to it, and the larger agreement set
     --work/expected_large.tsv (~5,000 inputs, for `cargo test ... g2p_agreement_large`);
  9. replaces the G2P lines of SHA256SUMS (other lines kept, in order) and the G2P
     section of MODEL_CARD.md (between `g2p:begin`/`g2p:end` markers; its Rust part,
     between `g2p-rust:begin`/`g2p-rust:end`, is kept).

Usage:
  python3 tools/build/make_g2p.py [--wheel hama-1.3.13-py3-none-any.whl] [--out models-quantized]

Needs: python3 with tools/requirements.txt.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# fp16 -> fp32 conversion shared with the acoustic model (same code, checked to give
# byte-identical graphs).
from make_model import _rewire, to_fp32  # noqa: E402
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

HAMA_VERSION = "1.3.13"
WHEEL_NAME = f"hama-{HAMA_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "753ca05c6b3c99f9c8c415776848f84ebb72823f70c11fd46dd7eff5df338dbd"
ASSETS = {
    "encoder": "hama/assets/encoder.onnx",
    "decoder": "hama/assets/decoder_step.onnx",
    "vocab": "hama/assets/g2p_vocab.json",
}
ENCODER_NAME = "g2p_encoder.onnx"
DECODER_NAME = "g2p_decoder_step.onnx"
SYMBOLS_NAME = "g2p_symbols.txt"
OUR_FILES = (ENCODER_NAME, DECODER_NAME, SYMBOLS_NAME)
SUMS_NAME = "SHA256SUMS"
CARD_NAME = "MODEL_CARD.md"
CARD_BEGIN = "<!-- g2p:begin -->"
CARD_END = "<!-- g2p:end -->"
RUST_BEGIN = "<!-- g2p-rust:begin -->"
RUST_END = "<!-- g2p-rust:end -->"
RUST_DEFAULT = """### Rust / tract

Not measured yet: `cargo test --release --test g2p -- --ignored --nocapture g2p_bench`
and `g2p_agreement_large`."""
MAX_INPUT_LEN = 128
MAX_OUTPUT_LEN = 32
ROOT = Path(__file__).resolve().parents[2]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    return sha256_bytes(Path(path).read_bytes())


# ---------------------------------------------------------------------------------------
# Source


def fetch_wheel(work, wheel):
    if wheel is None:
        dest = work / "wheel"
        dest.mkdir(parents=True, exist_ok=True)
        wheel = dest / WHEEL_NAME
        if not wheel.exists():
            log(f"downloading {WHEEL_NAME} with pip")
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                            ":all:", "-d", str(dest), f"hama=={HAMA_VERSION}"], check=True)
    wheel = Path(wheel)
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: SHA-256 {digest} != expected {WHEEL_SHA256} (hama {HAMA_VERSION})")
    return wheel


def read_assets(wheel):
    with zipfile.ZipFile(wheel) as z:
        return {k: z.read(v) for k, v in ASSETS.items()}


# ---------------------------------------------------------------------------------------
# Graph surgery


def remove_dead_nodes(model):
    """Drop nodes (and initializers) whose outputs reach no graph output."""
    g = model.graph
    needed = {o.name for o in g.output}
    keep = []
    for n in reversed(list(g.node)):
        if any(o in needed for o in n.output):
            keep.append(n)
            needed.update(x for x in n.input if x)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    used = {x for n in g.node for x in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)


def drop_length_sorting(model):
    """Encoder: GRUs without sequence_lens, and no sort/unsort of the batch by length.

    The exported encoder sorts the batch by input length (TopK), gathers the rows in that
    order, runs the GRUs with `sequence_lens`, and scatters the rows back. Without padding
    (every row as long as the input) sequence_lens is a no-op and the permutation is
    undone, so all of it is removed: the three Gathers by the permutation become
    identities, the GRUs lose input 4.
    """
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    topk = [n for n in g.node if n.op_type == "TopK"]
    if len(topk) != 1:
        sys.exit(f"expected one TopK in the encoder, found {len(topk)}")
    topk = topk[0]
    grus = [n for n in g.node if n.op_type == "GRU"]
    if len(grus) != 2:
        sys.exit(f"expected two GRUs in the encoder, found {len(grus)}")
    for n in grus:
        if len(n.input) < 5 or not n.input[4]:
            sys.exit(f"{n.name}: no sequence_lens")
        src = producers.get(n.input[4])
        while src is not None and src.op_type == "Cast":
            src = producers.get(src.input[0])
        if src is not topk:
            sys.exit(f"{n.name}: sequence_lens does not come from the TopK")
        n.input[4] = ""

    def from_topk_indices(name):
        src = producers.get(name)
        while src is not None and src.op_type == "Cast":
            src = producers.get(src.input[0])
        return src is topk

    def from_scatter(name):
        src = producers.get(name)
        return src is not None and src.op_type == "ScatterElements" and from_topk_indices(src.input[1])

    gathers = [n for n in g.node if n.op_type == "Gather"
               and (from_topk_indices(n.input[1]) or from_scatter(n.input[1]))]
    if len(gathers) != 3:
        sys.exit(f"expected three Gathers by the length permutation, found {len(gathers)}")
    for n in gathers:
        _rewire(g, n.output[0], n.input[0])
    remove_dead_nodes(model)
    left = [n.op_type for n in g.node if n.op_type in ("TopK", "ScatterElements")]
    if left:
        sys.exit(f"encoder still has {left}")
    return model


INT_PRESERVING = {"Concat", "Mul", "Add", "Sub", "Unsqueeze", "Squeeze", "Reshape", "Range",
                  "Identity", "Neg", "Abs", "Max", "Min"}
COMPARE = {"Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal"}


def integer_shape_math(model):
    """Compute in int64 what the mixed-precision export computes in float from int64 values.

    The exporter wrapped integer shape arithmetic (the Concat of a Reshape's target shape, the
    Range of input positions) in Casts to float and back. The values are small integers, so
    float and int64 give the same numbers, but tract cannot carry a symbolic dimension through
    a float: this rewires such subgraphs to int64 (removing the Casts to float at their inputs
    and the Casts back to int64 at their outputs).
    """
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    types = {vi.name: vi.type.tensor_type.elem_type
             for vi in list(inferred.graph.value_info) + list(inferred.graph.input)
             + list(inferred.graph.output)}
    for init in g.initializer:
        types[init.name] = init.data_type
    FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64

    def cast_to(n):
        return [a.i for a in n.attribute if a.name == "to"][0]

    # Float tensors that hold int64 values: Casts of int64 and what integer ops make of them.
    intf = {n.output[0]: n.input[0] for n in g.node
            if n.op_type == "Cast" and cast_to(n) == FLOAT and types.get(n.input[0]) == INT64}
    roots = dict(intf)
    changed = True
    while changed:
        changed = False
        for n in g.node:
            if n.op_type in INT_PRESERVING and n.output[0] not in intf:
                floats = [x for x in n.input if x and types.get(x) == FLOAT]
                if floats and all(x in intf for x in floats):
                    intf[n.output[0]] = None
                    changed = True
    graph_outputs = {o.name for o in g.output}
    if graph_outputs & intf.keys():
        sys.exit(f"integer-valued float graph outputs: {graph_outputs & intf.keys()}")
    # Consumers of these tensors outside the integer subgraph get a Cast to float back.
    demoted = [n for n in g.node if n.output and n.output[0] in intf and n.op_type != "Cast"]
    compares = [n for n in g.node if n.op_type in COMPARE
                and all(x in intf for x in n.input)]
    inside = {id(n) for n in demoted + compares}
    extra = []
    for n in list(g.node):
        if id(n) in inside or (n.op_type == "Cast" and n.output[0] in roots):
            continue
        for i, x in enumerate(n.input):
            if x in intf and not (n.op_type == "Cast" and cast_to(n) == INT64):
                back = f"{x}_int_to_float"
                if back not in {e.output[0] for e in extra}:
                    extra.append(helper.make_node("Cast", [x], [back], to=FLOAT, name=back))
                n.input[i] = back
    # Drop the Casts to float at the roots and the Casts to int64 at the ends.
    for n in [n for n in g.node if n.op_type == "Cast" and n.output[0] in roots]:
        _rewire(g, n.output[0], n.input[0])
        g.node.remove(n)
    for n in [n for n in g.node if n.op_type == "Cast" and cast_to(n) == INT64
              and n.input[0] in intf]:
        _rewire(g, n.output[0], n.input[0])
        g.node.remove(n)
    # Insert the casts back right after their producers (keeps topological order).
    for e in extra:
        src = e.input[0]
        idx = next(i for i, n in enumerate(g.node) if src in n.output)
        g.node.insert(idx + 1, e)
    remove_dead_nodes(model)
    return model


def add_log_probs(model):
    """Decoder step: also output LogSoftmax of the logits that `next_token_ids` is the ArgMax of."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    src = producers[[o for o in g.output if o.name == "next_token_ids"][0].name]
    while src.op_type == "Cast":
        src = producers[src.input[0]]
    if src.op_type != "ArgMax":
        sys.exit(f"next_token_ids does not come from an ArgMax ({src.op_type})")
    logits = src.input[0]
    g.node.append(helper.make_node("LogSoftmax", [logits], ["log_probs"], axis=-1,
                                   name="/log_probs/LogSoftmax"))
    g.output.append(helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["batch", 189]))
    return model


def convert(assets):
    enc = to_fp32(onnx.load_from_string(assets["encoder"]))
    drop_length_sorting(enc)
    integer_shape_math(enc)
    dec = to_fp32(onnx.load_from_string(assets["decoder"]))
    integer_shape_math(dec)
    add_log_probs(dec)
    for name, m in (("encoder", enc), ("decoder", dec)):
        del m.graph.value_info[:]
        onnx.checker.check_model(m, full_check=True)
        casts = [n for n in m.graph.node if n.op_type == "Cast"]
        fp16 = [n.name for n in casts
                if any(a.name == "to" and a.i == TensorProto.FLOAT16 for a in n.attribute)]
        if fp16:
            sys.exit(f"{name}: fp16 Casts left: {fp16}")
        fp16_init = [i.name for i in m.graph.initializer if i.data_type == TensorProto.FLOAT16]
        if fp16_init:
            sys.exit(f"{name}: fp16 initializers left: {fp16_init}")
    return enc, dec


# ---------------------------------------------------------------------------------------
# Running the G2P with onnxruntime (hama's greedy loop)


def session(model_bytes):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


class Tokenizer:
    """hama.tokenizer.TextTokenizer without its per-character dict rebuild."""

    def __init__(self, vocab):
        from hama.jamo import split_text_to_jamo
        self.split = split_text_to_jamo
        self.ids = {t: i for i, t in enumerate(vocab["encoder"])}
        self.unk = self.ids["<unk>"]

    def __call__(self, text):
        tokens = self.split(text).tokens or ["<unk>"]
        return [self.ids.get(t, self.unk) for t in tokens][:MAX_INPUT_LEN]


class Greedy:
    """hama.inference.G2PModel._predict_single_split on a batch of equal-length inputs."""

    def __init__(self, enc_bytes, dec_bytes, vocab):
        self.enc = session(enc_bytes)
        self.dec = session(dec_bytes)
        self.dec_in = [i.name for i in self.dec.get_inputs()]
        self.dec_out = ["next_token_ids", "hidden_out", "prev_attn_out", "attn_argmax"]
        dec = vocab["decoder"]
        self.sos, self.eos, self.pad = dec.index("<sos>"), dec.index("<eos>"), dec.index("<pad>")

    def run(self, id_rows):
        """Decoded (token ids, attention argmax) per row, eos excluded, as hama's loop."""
        width = len(id_rows[0])
        assert all(len(r) == width for r in id_rows)
        ids = np.array(id_rows, dtype=np.int64)
        lengths = np.full((len(id_rows),), width, dtype=np.int64)
        enc_out, keys, hidden, mask, prev_attn = self.enc.run(
            ["encoder_outputs", "projected_keys", "hidden", "encoder_mask", "prev_attn"],
            {"input_ids": ids, "input_lengths": lengths})
        n, src_len = enc_out.shape[0], enc_out.shape[1]
        positions = np.arange(src_len, dtype=np.float32).reshape(1, src_len)
        cur = np.full((n, 1), self.sos, dtype=np.int64)
        out = [([], []) for _ in range(n)]
        done = np.zeros(n, dtype=bool)
        for _ in range(MAX_OUTPUT_LEN):
            feeds = dict(zip(self.dec_in, [cur, enc_out, keys, mask, prev_attn, hidden, positions]))
            nxt, hidden, prev_attn, attn = self.dec.run(self.dec_out, feeds)
            nxt, attn = np.asarray(nxt).reshape(-1), np.asarray(attn).reshape(-1)
            for i in range(n):
                if done[i]:
                    continue
                if int(nxt[i]) == self.eos:
                    done[i] = True
                else:
                    out[i][0].append(int(nxt[i]))
                    out[i][1].append(int(attn[i]))
            if done.all():
                break
            cur = nxt.reshape(n, 1).astype(np.int64)
        return out

    def phones(self, ids, decoder_vocab):
        """hama's _decode: skip pad, skip sos only before the first phone."""
        res = []
        for t in ids:
            if t == self.pad:
                continue
            if t == self.sos and not res:
                continue
            res.append(decoder_vocab[t])
        return res


def run_grouped(g2p, tok, words):
    """Length-grouped batches of up to 64; {word: (ids, attn)}."""
    by_len = {}
    for w in words:
        by_len.setdefault(len(tok(w)), []).append(w)
    res = {}
    for _, group in sorted(by_len.items()):
        for i in range(0, len(group), 64):
            chunk = group[i:i + 64]
            for w, r in zip(chunk, g2p.run([tok(w) for w in chunk])):
                res[w] = r
    return res


# ---------------------------------------------------------------------------------------
# Word lists

# Names and words the committed fixture always holds, beyond the contact list: diacritics,
# apostrophes, hyphens, mixed case, other scripts, edge cases.
EXTRA_WORDS = """
José Zoë Chloë Renée Béatrice François Françoise Hélène Anaïs Maël Noël Raphaël Gaëlle
Müller Jürgen Björn Sören Søren Åsa Ærø Øystein Mårten Grünewald Straße Weiß Gößmann
Łukasz Wojciech Małgorzata Agnieszka Grzegorz Paweł Żaneta Źdźbło Jędrzej Ściborski
Dvořák Jiří Řehoř Tomáš Šárka Žofie Ondřej Miloš Zdeněk
Ñuñez Iñaki Peña Muñoz Begoña Núñez João Conceição Gonçalves Sebastião Luís Inês
Ştefan Ștefan Țară Dragoș Şahin Gökhan Çağrı Ilkay İlkay Ömer Ünal Yiğit Ayşe Ğ
Ólafur Þórir Guðrún Ásgeir Sigurður Hafþór Eyjólfur
Nguyễn Trần Phạm Đặng Võ Huỳnh
Zsófia Erzsébet Győző Ödön Ákos Lőrinc
O'Brien O'Sullivan O'Neill D'Angelo D'Souza N'Golo Mc'Kay L'Oréal D'Arcy Ma'ayan
Jean-Luc Mary-Kate Al-Hassan Abdul-Rahman Smith-Jones
DeShawn LaToya McDonald MacGregor van der Berg de la Cruz
AAA a I x Zz ABC eBay iPhone Xiao Xi Ximena Xochitl Joaquín Joaquin Xavier Siobhan
Niamh Saoirse Aoife Caoimhe Tadhg Oisín Sinéad Ciarán Róisín Pádraig Eoghan
Zbigniew Szczepan Przemysław Krzysztof Ngozi Nkechi Oluwaseun Chukwuemeka
Thandiwe Nomvula Sipho Mpho Tshepo Kgosi Wanjiru Njoroge
Hyun-woo Seo-yeon 민준 김서연 이 박 최 Jiho
Иван Ольга Αλέξανδρος Νίκος محمد فاطمة יוסף שרה राहुल प्रिया
王 李明 さくら ハナ ก้อง
42 R2D2 4ever 1st
Ɓello ʻOkusitino Kʼicheʼ Hawaiʻi Mariá
""".split()


# Inputs with several whitespace-separated parts (hama pronounces each on its own).
MULTI_WORD = ["Mary Ann", "van der Berg", "Jean  Luc", " Ana\u3000Maria ", "Jean\x1cPaul", "de la Cruz"]


def word_lists(lexicon_path, contacts_paths, bias_dir):
    """(fixture words, large-set words): deterministic."""
    contacts = []
    for p in contacts_paths:
        if Path(p).exists():
            for line in Path(p).read_text(encoding="utf-8").splitlines():
                contacts.extend(line.split())
    contacts = list(dict.fromkeys(contacts))
    lex_words = []
    if Path(lexicon_path).exists():
        seen = set()
        for line in Path(lexicon_path).read_text(encoding="utf-8").splitlines():
            w = line.split("\t", 1)[0]
            if w not in seen and re.fullmatch(r"[a-z][a-z']*", w):
                seen.add(w)
                lex_words.append(w)
    bias = []
    if bias_dir and Path(bias_dir).is_dir():
        for p in sorted(Path(bias_dir).glob("*.txt")):
            bias.extend(w for w in p.read_text(encoding="utf-8").split() if w)
    bias = list(dict.fromkeys(bias))
    common = lex_words[:: max(1, len(lex_words) // 40)][:40]
    capitalized = [w.capitalize() for w in lex_words[7:: max(1, len(lex_words) // 15)][:15]]
    fixture = list(dict.fromkeys(contacts + EXTRA_WORDS + common + capitalized
                                 + bias[:: max(1, len(bias) // 15)][:15] + MULTI_WORD))
    large = list(dict.fromkeys(fixture + bias[::2] + lex_words[3:: max(1, len(lex_words) // 1500)]))
    return fixture, large


def write_expected(path, rows):
    """`word<TAB>phone phone ...<TAB>char char ...`; phones as in tokens.txt (` ` -> `<space>`),
    chars = hama's alignment (`G2PAlignment.char_index`, -1 when none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# word\tphones (hama.G2PModel.predict, tokens.txt spelling)\tchar_index of each "
                "phone (hama's alignment)\n")
        f.write(f"# made by tools/build/make_g2p.py from hama {HAMA_VERSION}; do not edit\n")
        for w, phones, attn in rows:
            if "\t" in w or "\n" in w:
                sys.exit(f"word {w!r} cannot be written")
            ph = " ".join("<space>" if p == " " else p for p in phones)
            f.write(f"{w}\t{ph}\t{' '.join(map(str, attn))}\n")


def write_tokenizer_fixture(path, vocab, tok):
    """Every code point whose tokenization is not simply "its own symbol or <unk>".

    For each code point c (surrogates and Hangul syllables aside), hama's ids of "a" + c + "a"
    are compared with [a, id(c) or <unk>, a]; the exceptions (whitespace, upper case,
    lower-casing to several characters) are written as `U+XXXX<TAB>id id ...`. Some Hangul
    syllables are written too (they split into jamo).
    """
    ids = {t: i for i, t in enumerate(vocab["encoder"])}
    a, unk = ids["a"], ids["<unk>"]
    rows = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        hangul = 0xAC00 <= cp < 0xAC00 + 11172
        got = tok("a" + c + "a")
        if (hangul and cp % 997 == 0) or (not hangul and got != [a, ids.get(c, unk), a]):
            rows.append((cp, got))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# hama's encoder ids of \"a\" + U+XXXX + \"a\" where they are not [a, the code point's "
                "own id or <unk>, a]\n")
        f.write(f"# made by tools/build/make_g2p.py (Python {sys.version.split()[0]}, Unicode "
                f"{unicodedata.unidata_version}); do not edit\n")
        for cp, got in rows:
            f.write(f"U+{cp:04X}\t{' '.join(map(str, got))}\n")
    return len(rows)


# ---------------------------------------------------------------------------------------
# Outputs


def write_symbols(vocab, path):
    syms = vocab["encoder"]
    for i, s in enumerate(syms):
        if not s or "\n" in s or "\r" in s or len(s.splitlines()) != 1:
            sys.exit(f"encoder symbol {i} {s!r} cannot be written one per line")
    path.write_text("".join(s + "\n" for s in syms), encoding="utf-8", newline="\n")


def update_sums(out):
    path = out / SUMS_NAME
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [l for l in lines if l.split()[-1].lstrip("*") not in OUR_FILES]
    new = [f"{sha256_file(out / n)}  {n}" for n in OUR_FILES]
    path.write_text("".join(l + "\n" for l in kept + new), encoding="utf-8")


def update_card(out, section):
    """Replace the G2P section of MODEL_CARD.md (appended if absent), keeping its Rust part."""
    path = out / CARD_NAME
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rust = RUST_DEFAULT
    if RUST_BEGIN in text and RUST_END in text:
        rust = text[text.index(RUST_BEGIN) + len(RUST_BEGIN): text.index(RUST_END)].strip()
    block = (f"{CARD_BEGIN}\n{section.strip()}\n\n{RUST_BEGIN}\n{rust}\n{RUST_END}\n"
             f"{CARD_END}\n")
    if CARD_BEGIN in text and CARD_END in text:
        pre = text[: text.index(CARD_BEGIN)]
        post = text[text.index(CARD_END) + len(CARD_END):].lstrip("\n")
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help=f"path to {WHEEL_NAME} (default: pip download)")
    ap.add_argument("--out", default="models-quantized", help="output directory")
    ap.add_argument("--work", default="build/make_g2p", help="scratch directory")
    ap.add_argument("--fixture", default="tests/fixtures/g2p/expected.tsv",
                    help="committed test fixture to (re)write")
    ap.add_argument("--lexicon", default="models-quantized/lexicon.txt",
                    help="word source for the agreement sets")
    ap.add_argument("--contacts", action="append",
                    default=["/work/shared/eval/dev/contacts.txt"], help="contact list(s)")
    ap.add_argument("--bias-lists", default="/work/shared/eval/dev/lists",
                    help="folder of rare-word lists for the agreement sets")
    ap.add_argument("--no-card", action="store_true", help="do not touch MODEL_CARD.md")
    args = ap.parse_args()

    from importlib.metadata import version

    import hama
    import onnxruntime as ort
    if version("hama") != HAMA_VERSION:
        sys.exit(f"installed hama is {version('hama')}, need {HAMA_VERSION}")
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)

    wheel = fetch_wheel(work, args.wheel)
    assets = read_assets(wheel)
    asset_sums = {ASSETS[k]: sha256_bytes(v) for k, v in assets.items()}
    vocab = json.loads(assets["vocab"].decode("utf-8"))
    # The installed hama must ship the same assets (its predict() is the reference).
    inst = Path(hama.__file__).parent / "assets"
    for k, rel in ASSETS.items():
        if sha256_file(inst / Path(rel).name) != asset_sums[rel]:
            sys.exit(f"installed hama's {rel} differs from the wheel's")

    log("converting to fp32")
    enc, dec = convert(assets)
    onnx.save(enc, str(out / ENCODER_NAME))
    onnx.save(dec, str(out / DECODER_NAME))
    write_symbols(vocab, out / SYMBOLS_NAME)
    for name, m in ((ENCODER_NAME, enc), (DECODER_NAME, dec)):
        casts = sum(n.op_type == "Cast" for n in m.graph.node)
        log(f"{name}: {len(m.graph.node)} nodes, {casts} Casts left, "
            f"{len(m.graph.value_info)} value_info")

    fixture_words, large_words = word_lists(args.lexicon, args.contacts, args.bias_lists)
    log(f"{len(fixture_words)} fixture words, {len(large_words)} agreement words")
    tok = Tokenizer(vocab)
    orig = Greedy(assets["encoder"], assets["decoder"], vocab)
    conv = Greedy((out / ENCODER_NAME).read_bytes(), (out / DECODER_NAME).read_bytes(), vocab)

    # 1. Converted vs original graphs, one word part at a time (hama's loop) and batched.
    units = list(dict.fromkeys(p for w in large_words for p in w.split()))
    t0 = time.time()
    single_orig = {w: orig.run([tok(w)])[0] for w in units}
    t_orig = time.time() - t0
    t0 = time.time()
    single_conv = {w: conv.run([tok(w)])[0] for w in units}
    t_conv = time.time() - t0
    batched_conv = run_grouped(conv, tok, units)
    same_ids = sum(single_orig[w][0] == single_conv[w][0] for w in units)
    same_attn = sum(single_orig[w] == single_conv[w] for w in units)
    same_batch = sum(batched_conv[w] == single_conv[w] for w in units)
    diff = [w for w in units if single_orig[w][0] != single_conv[w][0]]
    log(f"fp32 vs original: phones equal on {same_ids}/{len(units)} words, phones and "
        f"attention on {same_attn}; batched fp32 vs single fp32 {same_batch}; differ: {diff[:20]}")

    # 2. hama's own predict() as the reference for the fixtures.
    from hama import G2PModel
    model = G2PModel()
    dvocab = vocab["decoder"]
    rows, predict_vs_loop = [], 0
    for w in large_words:
        r = model.predict(w)
        phones = [a.phoneme for a in r.alignments]
        chars = [a.char_index for a in r.alignments]
        loop_phones = [p for part in w.split() for p in orig.phones(single_orig[part][0], dvocab)]
        predict_vs_loop += loop_phones == phones
        rows.append((w, phones, chars))
    log(f"hama predict() == our loop on the original graphs: {predict_vs_loop}/{len(large_words)}")
    by_word = {w: (p, a) for w, p, a in rows}
    write_expected(Path(args.fixture), [(w, *by_word[w]) for w in fixture_words])
    write_expected(work / "expected_large.tsv", rows)
    n_tok = write_tokenizer_fixture(Path(args.fixture).parent / "tokenizer.tsv", vocab, tok)
    log(f"tokenizer fixture: {n_tok} code points")

    odd = sorted({p for _, p, _ in rows for p in p if p in ("<pad>", "<sos>", "<unk>", " ")})
    report = {
        # The wheel's folder is machine-specific; its checksum is checked anyway.
        "command": shlex.join(["python3", "tools/build/make_g2p.py",
                               *[Path(a).name if a.endswith(".whl") else a for a in sys.argv[1:]]]),
        "wheel_sha256": WHEEL_SHA256,
        "assets": asset_sums,
        "outputs": {n: {"sha256": sha256_file(out / n), "size": (out / n).stat().st_size}
                    for n in OUR_FILES},
        "words": len(large_words),
        "parts": len(units),
        "fixture_words": len(fixture_words),
        "symbols": len(vocab["encoder"]),
        "phones_equal": same_ids,
        "phones_and_attention_equal": same_attn,
        "batched_equal": same_batch,
        "predict_equal": predict_vs_loop,
        "differ": diff,
        "special_phones_seen": odd,
        "ort": ort.__version__,
        "ort_seconds_original": t_orig,
        "ort_seconds_fp32": t_conv,
    }
    (work / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False),
                                      encoding="utf-8")
    if same_ids != len(units) or predict_vs_loop != len(large_words):
        log("WARNING: the converted graphs or the loop do not reproduce hama exactly")
    update_sums(out)
    if not args.no_card:
        update_card(out, card_section(report))
    log(f"wrote {', '.join(OUR_FILES)} and their {SUMS_NAME} lines into {out}")


def card_section(r):
    o = r["outputs"]
    n, parts = r["words"], r["parts"]
    files = "\n".join(f"| `{k}` | {v['size'] / 1e6:.2f} MB | `{v['sha256']}` |" for k, v in o.items())
    assets = "\n".join(f"  `{k}` (SHA-256 `{v}`)" for k, v in r["assets"].items())
    diff = ", ".join(f"`{w}`" for w in r["differ"]) or "none"
    return f"""
## G2P (grapheme to phone) model

Spelling to phones for words that have no lexicon entry (contact names), run on the device
by `src/g2p/` with tract. Generated by `tools/build/make_g2p.py`; do not edit by hand except the
Rust section (kept across regenerations).

### Source

- Package: PyPI [`hama`](https://pypi.org/project/hama/) version {HAMA_VERSION}, file
  `{WHEEL_NAME}` (SHA-256 `{r['wheel_sha256']}`), Apache-2.0 (applies to these files too).
- Assets:
{assets}
- Model: character-level encoder (embedding, depthwise + pointwise convolution, two
  bidirectional GRU layers of 96) and an attention GRU decoder run one step per call
  (location-aware attention with a position prior). Input: lower-cased characters (Hangul
  split into jamo), at most {MAX_INPUT_LEN} symbols; output: the 189 `decoder` phones of
  `g2p_vocab.json`, the same ids and symbols as `tokens.txt` 0-188. Greedy decoding starts
  from `<sos>` and stops at `<eos>` or after {MAX_OUTPUT_LEN} steps.

### Files

| file | size | SHA-256 |
| --- | --- | --- |
{files}

- `g2p_encoder.onnx`: inputs `input_ids` [batch, len] i64, `input_lengths` [batch] i64;
  outputs `encoder_outputs`, `projected_keys`, `hidden`, `encoder_mask`, `prev_attn`.
- `g2p_decoder_step.onnx`: one decoder step; outputs `next_token_ids` (argmax),
  `hidden_out`, `prev_attn_out`, `attn_argmax` (input position with the most attention:
  hama's alignment) and, added here, `log_probs` [batch, 189] (log-softmax of the same
  logits).
- `g2p_symbols.txt`: the {r['symbols']} encoder symbols, line i = id i (`<pad>` 0, `<unk>` 1).

`SHA256SUMS` lists them after the acoustic model's files; nomen verifies them at load.

### How they were made

```
{r['command']}
```

1. fp16 -> fp32 as for the acoustic model: fp16 weights and constants widened, fp16 Casts
   removed, `value_info` stripped.
2. Encoder: the GRUs' `sequence_lens` and the sort-by-length / unsort around them (TopK,
   three Gathers, ScatterElements) removed. tract only supports GRUs without
   sequence_lens; without padding both are no-ops. **Every row of a batch must have the
   same number of input symbols** (nomen groups words by length; padded batches would
   now give wrong results for the shorter rows).
3. Integer shape arithmetic that the mixed-precision export did in float (the target
   shapes of Reshapes and of the GRUs' zero initial state, the Range of input positions)
   is done in int64 again, so that tract can follow a symbolic batch size and length.
4. Decoder step: `log_probs` output added (for n-best beam search); `next_token_ids` is
   still the graph's own ArgMax.

Checked with onnxruntime {r['ort']}, hama's greedy loop, on {parts} distinct words
(development contact names, names of many origins with diacritics and apostrophes, other
scripts, rare words from the biasing lists, lexicon words): phones equal to the original
assets' on {r['phones_equal']}/{parts} words, phones and attention argmax on
{r['phones_and_attention_equal']}/{parts} (differ: {diff}: a near tie between two
phones that fp16 rounding decides); length-grouped batches of the converted graphs equal
to one word at a time on {r['batched_equal']}/{parts}. `hama.G2PModel.predict` equals
that loop on the original assets for {r['predict_equal']}/{n} inputs. onnxruntime, one
thread, one word at a time: {r['ort_seconds_original'] * 1e3 / parts:.2f} ms/word
(original), {r['ort_seconds_fp32'] * 1e3 / parts:.2f} ms/word (fp32).

Test fixtures written from hama's own output: `tests/fixtures/g2p/expected.tsv`
({r['fixture_words']} inputs: phones and alignment) and `tests/fixtures/g2p/tokenizer.tsv`
(every code point whose tokenization is not "itself or `<unk>`"); the larger set goes to
`build/make_g2p/expected_large.tsv`.
"""


if __name__ == "__main__":
    main()
