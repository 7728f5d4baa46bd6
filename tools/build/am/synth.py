"""Synthesized training speech for nomen's own acoustic model, with phone labels from nomen's
lexicon (`models-quantized/lexicon.txt`: the stressed CMU dictionary plus hama's G2P, made by
tools/build/build_lexicon.py).

    python3 tools/build/am/synth.py --out DIR --hours 10 --seed 1 [--jobs 2]

Text (seeded, from sources on the machine, no recorded speech, nothing from ../shared/eval):
- sentences from Debian's `fortunes` and `fortunes-min` (quotes, jokes, definitions), kept
  when every word is in the lexicon; every sentence is assigned to train, validation or
  test by a hash of its text, so the three never share a sentence;
- commands and short phrases from templates (smart-home, phone, timers, navigation, the
  AN4-style words yes/no/stop/start/repeat/help/go...), spelled letters, digit strings,
  numbers written as words, times;
- isolated words: digits zero..nine and oh, command words, frequent words of the fortunes.
Voices: espeak-ng (7 English accents x ~80 voice variants x pitch x rate), flite kal, kal16,
slt, rms and hibari "heart" (never flite awb or piper en_US-joe: they are kept for held-out
measurement). `--split valid` uses voices the training split never has (espeak-ng en-029
and en-gb-x-gbcwmd with variants m8/f4/klatt4) for early stopping.

Augmentation (numpy, seeded per utterance): speed 0.9-1.1, synthetic room reverberation,
an 8 kHz band limit (down and up again, as in telephone and digit recordings), telephone
band-pass, white/pink/brown noise at 0-35 dB SNR, level 0.01-0.95 peak, light clipping,
and 0.05-0.6 s of quiet before and 0.1-1.2 s after the speech (nomen gives the model 0.3 s
before and 1 s after).

Writes DIR/SPLIT-NNNN.npz shards: `audio` int16 16 kHz concatenated, `audio_off`,
`labels` int16 token ids concatenated (`<wb>` between words), `label_off`, `text`, `voice`.
"""
import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import wave
from multiprocessing import Pool

import numpy as np
from scipy.signal import lfilter, resample_poly, butter, sosfilt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MODELS = os.path.join(ROOT, "models-quantized")
SR = 16_000
FORTUNE_DIRS = ["/usr/share/games/fortunes"]

ESPEAK_ACCENTS_TRAIN = ["en-us", "en-us", "en-us", "en", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp"]
ESPEAK_ACCENTS_VALID = ["en-029", "en-gb-x-gbcwmd"]
# Variants that sound like speech (robots, whispering and effects left out).
ESPEAK_VARIANTS = """adam Alex Alicia Andrea Andy Annie antonio aunty belinda benjamin boris caleb
david Denis Diogo ed edward edward2 Gene Gene2 gustave Henrique Hugo iven iven2 iven3 iven4 Jacky
john kaukovalta Lee linda marcelo Marco Mario max Michael michel miguel Mike Mr Nguyen pablo paul
pedro quincy rob robert steph steph2 steph3 Storm Tweaky zac anika AnxiousAndy f1 f2 f3 f5
grandpa klatt klatt2 klatt3 klatt5 klatt6 m1 m2 m3 m4 m5 m6 m7 norbert sandro shelby travis
victor grandma""".split()
ESPEAK_VARIANTS_VALID = ["m8", "f4", "klatt4"]
FLITE_VOICES = ["kal", "kal16", "slt", "rms"]  # never awb (held out)
# Reserved for held-out measurement (tools/build/am/heldout.py): no list above may name them.
RESERVED_VOICES = {"awb", "joe"}
assert not RESERVED_VOICES & {v.lower() for v in FLITE_VOICES + ESPEAK_VARIANTS + ESPEAK_VARIANTS_VALID}
# Share of utterances per engine (training split).
ENGINE_SHARE = [("espeak", 0.5), ("flite", 0.25), ("hibari", 0.25)]

DIGITS = "zero one two three four five six seven eight nine".split()
TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
COMMAND_WORDS = """yes no stop start repeat help go erase rubout enter up down left right on off
back next previous cancel okay play pause skip louder quieter open close call answer dial send
read delete save undo redo select copy paste search find home menu exit quit wait continue
confirm accept maybe sure thanks hello goodbye again faster slower""".split()
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
TEMPLATES = [
    "turn {onoff} the {room} lights", "set a timer for {num} minutes", "set an alarm for {time}",
    "call {word}", "what time is it", "what is the weather like {when}", "play some {genre} music",
    "remind me to {verb} the {thing} {when}", "open the {thing}", "close the {thing}",
    "my number is {digits}", "the code is {digits}", "dial {digits}", "enter {digits}",
    "spell {letters}", "{letters}", "{digits}", "{num}", "room {num}", "it is {time}",
    "meet me at {time} {when}", "add {thing} to my shopping list", "volume {updown}",
    "go {dir}", "turn {dir}", "move {dir} {num} steps", "{cmd}", "{cmd} {cmd}", "{cmd} please",
    "please {verb} the {thing}", "send a message to {word}", "navigate to {word} street",
    "it costs {num} dollars", "page {num}", "chapter {num}", "call me back at {time}",
]
SLOTS = {
    "onoff": ["on", "off"], "updown": ["up", "down"], "dir": ["left", "right", "up", "down", "forward", "back"],
    "room": ["kitchen", "bedroom", "bathroom", "living room", "garage", "office", "hallway", "basement"],
    "when": ["today", "tomorrow", "tonight", "this morning", "this evening", "next week", "on monday",
             "on friday", "in an hour", "later"],
    "genre": "jazz rock classical country blues pop folk".split(),
    "verb": "call buy check clean fix water feed move pay read wash send".split(),
    "thing": "door window garage car laundry plants dishes bills report letter milk bread eggs".split(),
}


def load_lexicon():
    lex = {}
    with open(os.path.join(MODELS, "lexicon.txt"), encoding="utf-8") as f:
        for line in f:
            w, p = line.rstrip("\n").split("\t")
            lex.setdefault(w, p.split())  # the first pronunciation (the dictionary's first)
    with open(os.path.join(MODELS, "tokens.txt"), encoding="utf-8") as f:
        tok = {l.split()[0]: int(l.split()[1]) for l in f if l.strip()}
    return lex, tok


def split_of(text):
    """train / valid / test by a hash of the text (94 / 3 / 3 %)."""
    h = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) % 100
    return "valid" if h < 3 else "test" if h < 6 else "train"


def fortune_sentences(lex):
    out, seen = [], set()
    for d in FORTUNE_DIRS:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if "." in name or not os.path.isfile(path):
                continue
            raw = open(path, encoding="utf-8", errors="ignore").read()
            for entry in raw.split("\n%\n"):
                text = " ".join(entry.split())
                for sent in re.split(r"(?<=[.!?;:])\s+|\s+--\s+", text):
                    s = sent.lower().replace("-", " ")
                    s = re.sub(r"[^a-z' ]", " ", s)
                    words = [w.strip("'") for w in s.split()]
                    words = [w for w in words if w]
                    if not 2 <= len(words) <= 28 or any(c.isdigit() for c in sent):
                        continue
                    if not all(w in lex for w in words):
                        continue
                    key = " ".join(words)
                    if key not in seen:
                        seen.add(key)
                        out.append(key)
    return out


def number_words(n, rng):
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + DIGITS[n % 10])
    if n < 1000:
        rest = n % 100
        return DIGITS[n // 100] + " hundred" + ("" if rest == 0 else (" and " if rng.random() < 0.3 else " ") + number_words(rest, rng))
    return number_words(n // 1000, rng) + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000, rng))


def slot(name, rng, vocab):
    if name == "num":
        return number_words(rng.choice([rng.randint(0, 20), rng.randint(0, 100), rng.randint(100, 9999)]), rng)
    if name == "digits":
        return " ".join(rng.choice(DIGITS + ["oh"]) for _ in range(rng.randint(2, 10)))
    if name == "letters":
        return " ".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 6)))
    if name == "time":
        h, m = rng.randint(1, 12), rng.choice([0, 5, 10, 15, 20, 30, 45, rng.randint(1, 59)])
        mins = rng.choice(["o'clock", ""]) if m == 0 else ("oh " + DIGITS[m] if m < 10 else number_words(m, rng))
        return (number_words(h, rng) + " " + mins).strip() + rng.choice(["", "", " a m", " p m"])
    if name == "cmd":
        return rng.choice(COMMAND_WORDS)
    if name == "word":
        return rng.choice(vocab)
    return rng.choice(SLOTS[name])


def make_texts(n, split, seed, lex):
    """n texts for `split`: 45% fortune sentences, 25% templates, 20% isolated words, 10%
    digit strings and numbers."""
    rng = random.Random(seed)
    sents = [s for s in fortune_sentences(lex) if split_of(s) == split]
    counts = {}
    for s in sents:
        for w in s.split():
            counts[w] = counts.get(w, 0) + 1
    vocab = [w for w, c in sorted(counts.items()) if c >= 3]
    texts = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            t = rng.choice(sents)
        elif r < 0.70:
            tpl = rng.choice(TEMPLATES)
            t = re.sub(r"\{(\w+)\}", lambda m: slot(m.group(1), rng, vocab), tpl)
        elif r < 0.90:
            t = rng.choice([rng.choice(DIGITS + ["oh"]), rng.choice(COMMAND_WORDS), rng.choice(vocab), rng.choice(LETTERS)])
        else:
            t = slot(rng.choice(["digits", "num", "time", "letters"]), rng, vocab)
        t = " ".join(t.split())
        if all(w in lex for w in t.split()):  # the few template words the lexicon lacks
            texts.append(t)
    return texts


def labels_of(text, lex, tok):
    ids = []
    for i, w in enumerate(text.split()):
        if i:
            ids.append(tok["<wb>"])
        ids.extend(tok[p] for p in lex[w])
    return ids


# --- voices -----------------------------------------------------------------------------

def read_wav(path):
    with wave.open(path, "rb") as w:
        sr, n, ch = w.getframerate(), w.getnframes(), w.getnchannels()
        x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, sr


def to_16k(x, sr):
    if sr == SR:
        return x
    g = np.gcd(sr, SR)
    return resample_poly(x, SR // g, sr // g).astype(np.float32)


_HIBARI = None


def speak(engine, voice, text, tmp):
    """16 kHz float audio of `text`; voice is a dict of engine settings."""
    if engine == "espeak":
        path = os.path.join(tmp, "e.wav")
        subprocess.run(["espeak-ng", "-v", voice["v"], "-p", str(voice["p"]), "-s", str(voice["s"]),
                        "-w", path, text], check=True, capture_output=True)
        return to_16k(*read_wav(path))
    if engine == "flite":
        path = os.path.join(tmp, "f.wav")
        args = ["flite", "-voice", voice["v"], "-t", text, "-o", path]
        if voice.get("stretch"):
            args[1:1] = ["--setf", f"duration_stretch={voice['stretch']:.2f}"]
        subprocess.run(args, check=True, capture_output=True)
        return to_16k(*read_wav(path))
    global _HIBARI
    if _HIBARI is None:
        from hibari import Hibari

        _HIBARI = Hibari()
    audio = _HIBARI(text, speed=voice["speed"], seed=voice["seed"])
    return to_16k(np.asarray(audio, np.float32), 24_000)


def pick_voice(split, rng):
    if split == "valid":
        return "espeak", {"v": rng.choice(ESPEAK_ACCENTS_VALID) + "+" + rng.choice(ESPEAK_VARIANTS_VALID),
                          "p": rng.randint(20, 80), "s": rng.randint(130, 200)}
    r, acc = rng.random(), 0.0
    for engine, share in ENGINE_SHARE:
        acc += share
        if r < acc:
            break
    if engine == "espeak":
        return engine, {"v": rng.choice(ESPEAK_ACCENTS_TRAIN) + "+" + rng.choice(ESPEAK_VARIANTS),
                        "p": rng.randint(0, 99), "s": rng.randint(110, 230)}
    if engine == "flite":
        return engine, {"v": rng.choice(FLITE_VOICES), "stretch": rng.uniform(0.8, 1.3)}
    return engine, {"speed": rng.uniform(0.8, 1.25), "seed": rng.randint(0, 1 << 30)}


# --- augmentation -------------------------------------------------------------------------

def colored_noise(n, kind, rng):
    w = rng.standard_normal(n).astype(np.float32)
    if kind == "pink":
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1, -2.494956002, 2.017265875, -0.522189400]
        w = lfilter(b, a, w)
    elif kind == "brown":
        w = lfilter([1.0], [1.0, -0.995], w)
    return (w / (np.std(w) + 1e-9)).astype(np.float32)


def augment(x, rng, nrng):
    if rng.random() < 0.3:  # speed (and pitch)
        f = rng.uniform(0.9, 1.1)
        up = 100
        x = resample_poly(x, up, int(round(up * f))).astype(np.float32)
    if rng.random() < 0.3:  # room: exponentially decaying noise as the impulse response
        rt60 = rng.uniform(0.1, 0.7)
        n = int(SR * rt60)
        t = np.arange(n) / SR
        ir = nrng.standard_normal(n) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct path vs reverberant energy
        wet = np.convolve(x, ir)[: len(x) + n // 2].astype(np.float32)
        x = wet / (np.abs(wet).max() + 1e-9) * (np.abs(x).max() + 1e-9)
    r = rng.random()
    if r < 0.25:  # 8 kHz band limit
        x = resample_poly(resample_poly(x, 1, 2), 2, 1).astype(np.float32)
    elif r < 0.33:  # telephone band
        sos = butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")
        x = sosfilt(sos, x).astype(np.float32)
    elif r < 0.40:  # a cheap microphone: high-pass and tilt
        sos = butter(2, rng.uniform(80, 250), btype="highpass", fs=SR, output="sos")
        x = sosfilt(sos, x).astype(np.float32)
    # Quiet around the speech.
    pre, post = int(SR * rng.uniform(0.05, 0.6)), int(SR * rng.uniform(0.1, 1.2))
    x = np.concatenate([np.zeros(pre, np.float32), x, np.zeros(post, np.float32)])
    peak = np.abs(x).max() + 1e-9
    x = x / peak
    if rng.random() < 0.6:
        kind = rng.choice(["white", "pink", "pink", "brown"])
        speech_rms = np.sqrt(np.mean(x[pre : len(x) - post] ** 2) + 1e-12)
        snr = rng.uniform(0, 35) if rng.random() < 0.7 else rng.uniform(35, 60)
        x = x + colored_noise(len(x), kind, nrng) * speech_rms / (10 ** (snr / 20))
    else:  # a faint floor, never digital silence
        x = x + nrng.standard_normal(len(x)).astype(np.float32) * 10 ** (rng.uniform(-80, -55) / 20)
    level = 10 ** rng.uniform(np.log10(0.01), np.log10(0.95))
    x = x / (np.abs(x).max() + 1e-9) * level
    if rng.random() < 0.05:  # clipping
        x = np.clip(x * rng.uniform(1.5, 4.0), -level, level)
    return np.clip(x, -1, 1)


# --- driver -------------------------------------------------------------------------------

def render(split, items, seed, path):
    """Speaks, augments and writes one shard: `items` are (text for the TTS, text kept,
    label ids, extra columns {name: str}); an utterance the TTS fails on costs only itself.
    Returns the seconds of audio written."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    audio, aoff, labels, loff, kept_text, voices = [], [0], [], [0], [], []
    extra = {k: [] for k in (items[0][3] if items else {})}
    with tempfile.TemporaryDirectory() as tmp:
        for say, text, lab, cols in items:
            engine, voice = pick_voice(split, rng)
            try:
                x = speak(engine, voice, say, tmp)
            except Exception as e:  # one failed utterance costs only itself
                print(f"skip {engine} {voice} {say!r}: {e}", file=sys.stderr)
                continue
            if len(x) < SR * 0.1:
                continue
            x = augment(x, rng, nrng)
            pcm = (x * 32767).astype(np.int16)
            audio.append(pcm)
            aoff.append(aoff[-1] + len(pcm))
            labels.extend(lab)
            loff.append(loff[-1] + len(lab))
            kept_text.append(text)
            voices.append(engine + ":" + json.dumps(voice, sort_keys=True))
            for k, v in cols.items():
                extra[k].append(v)
    np.savez(path, audio=np.concatenate(audio), audio_off=np.array(aoff, np.int64),
             labels=np.array(labels, np.int16), label_off=np.array(loff, np.int64),
             text=np.array(kept_text), voice=np.array(voices), **{k: np.array(v) for k, v in extra.items()})
    return aoff[-1] / SR


def render_shard(job):
    split, shard, texts, seed, out = job
    lex, tok = load_lexicon()
    path = os.path.join(out, f"{split}-{shard:04d}.npz")
    return path, render(split, [(t, t, labels_of(t, lex, tok), {}) for t in texts], seed, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--split", default="train", choices=["train", "valid"])
    ap.add_argument("--utterances", type=int, default=20000)
    ap.add_argument("--shard-size", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-shard", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lex, _ = load_lexicon()
    texts = make_texts(args.utterances, args.split, args.seed, lex)
    jobs = []
    for i in range(0, len(texts), args.shard_size):
        shard = args.first_shard + i // args.shard_size
        jobs.append((args.split, shard, texts[i : i + args.shard_size], args.seed * 100_003 + shard, args.out))
    total = 0.0
    with Pool(args.jobs) as pool:
        for path, secs in pool.imap_unordered(render_shard, jobs):
            total += secs
            print(f"{path}: {secs / 60:.1f} min (total {total / 3600:.2f} h)", flush=True)


if __name__ == "__main__":
    main()
