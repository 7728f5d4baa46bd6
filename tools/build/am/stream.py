"""Exports the streaming form of nomen's Whisper-encoder CTC phone model: the same weights as
`whisper_tiny_ctc.onnx` (tools/build/am/export.py), one graph call per piece of new audio, the
encoder's past kept as keys and values, so that live partial results cost about one pass
over the audio in all instead of one pass over the whole utterance per partial.

    python3 tools/build/am/stream.py --head head.pt --out models-quantized/whisper_tiny_ctc_stream.onnx

One call computes encoder frames [f, f + N) of an utterance whose first f frames are done:

inputs
  audio   [1, 320 N + 720]  16 kHz samples [320 f - 520, 320 (f + N) + 200) of the model's
                            input (lead-in included; before sample 0: zeros)
  pos     [N] int64         f .. f + N - 1 (their positions: Whisper's sinusoids, in the graph)
  peak    [1]               the running maximum of the log-mel so far (-10 at the start)
  k_past  [4, P, 384]       each layer's keys of the P frames kept so far (P may be 0)
  v_past  [4, P, 384]       their values
  h_past  [1, 6, 256]       the head's input (after its projection) of the 6 frames before f
                            (zeros at the start)
outputs
  log_probs [1, N + 3, 191] frames f - 3 .. f + N - 1 (the first 3 were given earlier with
                            less right context; the last 3 lack theirs: the head sees zeros)
  k_new, v_new [4, N, 384]  keys and values of the N frames (the caller keeps those it
                            commits, usually all but a few look-ahead frames)
  h_new   [1, N, 256]       the head's input of the N frames
  peak_out [1]              the running maximum after these frames

Attention is over the frames kept plus the N new ones (no look-ahead beyond them), so the
frames of a call see less right context than in the whole-utterance graph: partial results
only. Finals stay whole-utterance (`whisper_tiny_ctc.onnx`). The log-mel's dynamic-range floor
(max - 8) uses the running maximum. After exporting, the script checks the graph against the
PyTorch module (onnxruntime) and one call over a whole input against the whole-utterance
model.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import Full, fp16_initializers, load_head, record_checksum  # noqa: E402
from features import TAP_LAYERS  # noqa: E402
from whisper import D_MODEL, HOP, N_FFT, N_HEADS, N_LAYERS, LogMel, encoder_frames  # noqa: E402

HEAD_CTX = 6  # frames of head input kept: 3 convolutions of kernel 3 see 3 frames each way
RIGHT = 3  # frames at the end whose head output lacks right context
LEFT_SAMPLES = 520  # audio needed before frame f's centre (320 f)
RIGHT_SAMPLES = 200  # audio needed after the last frame's centre


def sinusoids(pos):
    """Whisper's positional embedding of frames `pos` ([N] int64 -> [N, 384]): the formula
    its table was made with (the table holds it in float16, within 2.5e-4), computed in the
    graph rather than gathered from a 1500-row table at every call."""
    half = D_MODEL // 2
    inv = torch.exp(torch.arange(half, dtype=torch.float32) * (-np.log(10000.0) / (half - 1)))
    t = pos.to(torch.float32)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], 1)


class StreamStep(nn.Module):
    """One call of the streaming graph."""

    def __init__(self, full):
        super().__init__()
        self.front = full.front
        self.enc = full.enc
        self.head = full.head

    def forward(self, audio, pos, peak, k_past, v_past, h_past):
        taps, ks, vs, peak_out = self.encode(audio, pos, peak, k_past, v_past)
        head = self.head
        w = torch.softmax(head.mix, 0)
        z = sum(w[i] * head.norms[i](taps[i]) for i in range(len(head.norms)))
        h_new = F.gelu(head.proj(z))  # [1, N, 256]
        z = torch.cat([h_past, h_new], 1)
        for conv, ln in zip(head.convs, head.norms2):
            z = z + F.gelu(conv(ln(z).transpose(1, 2)).transpose(1, 2))
        log_probs = F.log_softmax(head.out(z), dim=-1)[:, HEAD_CTX - RIGHT :]
        return log_probs, torch.stack(ks), torch.stack(vs), h_new, peak_out

    def encode(self, audio, pos, peak, k_past, v_past):
        """The encoder part of a call: the tapped outputs (TAP_LAYERS, then the final layer
        norm; each [1, N, 384]) of the N new frames, their keys and values per layer, and the
        running log-mel maximum. tools/build/am/stream_features.py trains heads on these."""
        enc = self.enc
        spec = F.conv1d(audio[:, None, :], self.front.basis, stride=HOP)  # [1, 402, 2N + 3]
        re, im = spec[:, : N_FFT // 2 + 1], spec[:, N_FFT // 2 + 1 :]
        mel = torch.matmul(self.front.mel, re * re + im * im)
        log_spec = torch.log(torch.clamp(mel, min=1e-10)) * (1.0 / np.log(10.0))
        peak_out = torch.maximum(peak, log_spec.amax(dim=(1, 2)))
        log_spec = torch.maximum(log_spec, peak_out - 8.0)
        mel = (log_spec + 4.0) / 4.0
        x = F.gelu(F.conv1d(mel, enc.conv1.weight, enc.conv1.bias))  # [1, 384, 2N + 1]
        x = F.gelu(F.conv1d(x, enc.conv2.weight, enc.conv2.bias, stride=2)).transpose(1, 2)  # [1, N, 384]
        x = x + sinusoids(pos)
        n = x.shape[1]
        hd = D_MODEL // N_HEADS
        ks, vs, taps = [], [], []
        for i, blk in enumerate(enc.blocks):
            h = blk.qkv(blk.attn_ln(x))
            q, k, v = h[..., :D_MODEL], h[..., D_MODEL : 2 * D_MODEL], h[..., 2 * D_MODEL :]
            ks.append(k[0])
            vs.append(v[0])
            kk = torch.cat([k_past[i], k[0]], 0)  # [P + N, 384]
            vv = torch.cat([v_past[i], v[0]], 0)
            qh = q[0].reshape(n, N_HEADS, hd).transpose(0, 1)  # [H, N, d]
            kh = kk.reshape(-1, N_HEADS, hd).transpose(0, 1)
            vh = vv.reshape(-1, N_HEADS, hd).transpose(0, 1)
            att = torch.softmax(torch.matmul(qh, kh.transpose(1, 2)) * hd**-0.5, dim=-1)
            y = torch.matmul(att, vh).transpose(0, 1).reshape(1, n, D_MODEL)
            x = x + blk.out(y)
            x = x + blk.fc2(F.gelu(blk.fc1(blk.mlp_ln(x))))
            if i in TAP_LAYERS:
                taps.append(x)
        taps.append(enc.ln_post(x))
        return taps, ks, vs, peak_out


class Streamer:
    """The caller's side, as nomen's runner does it: `step(f, n)` runs frames [f, f + n) of
    `wave` (lead-in included) and commits the first `commit` of them."""

    def __init__(self, call, wave):
        self.call, self.wave = call, wave
        self.f = 0
        self.k = np.zeros((N_LAYERS, 0, D_MODEL), np.float32)
        self.v = self.k.copy()
        self.h = np.zeros((1, HEAD_CTX, 256), np.float32)
        self.peak = np.full(1, -10.0, np.float32)
        self.out = {}

    def available(self):
        return max(0, (len(self.wave) - RIGHT_SAMPLES) // 320)

    def step(self, n, commit):
        f = self.f
        lo, hi = 320 * f - LEFT_SAMPLES, 320 * (f + n) + RIGHT_SAMPLES
        audio = np.zeros(hi - lo, np.float32)
        audio[max(0, -lo) :] = self.wave[max(0, lo) : hi]
        lp, k, v, h, peak = self.call(audio[None], np.arange(f, f + n, dtype=np.int64), self.peak, self.k, self.v, self.h)
        for j in range(lp.shape[1]):
            if f - RIGHT + j >= 0:
                self.out[f - RIGHT + j] = lp[0, j]
        self.k = np.concatenate([self.k, k[:, :commit]], 1)
        self.v = np.concatenate([self.v, v[:, :commit]], 1)
        self.h = np.concatenate([self.h, h[:, :commit]], 1)[:, -HEAD_CTX:]
        self.peak = peak
        self.f += commit

    def log_probs(self):
        return np.stack([self.out[t] for t in range(len(self.out))])


def check(call, full, waves):
    """The largest probability difference between one call over a whole input and the
    whole-utterance graph, away from the ends (whose padding differs)."""
    worst = 0.0
    for wave in waves:
        with torch.no_grad():
            ref = full(torch.from_numpy(wave)[None])[0].numpy()
        s = Streamer(call, wave)
        n = s.available()
        s.step(n, n)
        one = s.log_probs()
        a, b = 8, min(len(one), len(ref)) - 4
        worst = max(worst, float(np.abs(np.exp(one[a:b]) - np.exp(ref[a:b])).max()))
    return worst


def test_waves():
    rng = np.random.default_rng(0)
    out = []
    for n in [16_000 + 4800, 48_000 + 77, 160_000]:
        t = np.arange(n) / 16_000
        out.append((0.2 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(3 * t)) + 0.02 * rng.standard_normal(n)).astype(np.float32))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--head", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    head, ck = load_head(args.head)
    full = Full(head).eval()
    step = StreamStep(full).eval()
    n, p = 19, 7
    dummy = (
        torch.zeros(1, 320 * n + LEFT_SAMPLES + RIGHT_SAMPLES),
        torch.arange(p, p + n),
        torch.full((1,), -10.0),
        torch.zeros(N_LAYERS, p, D_MODEL),
        torch.zeros(N_LAYERS, p, D_MODEL),
        torch.zeros(1, HEAD_CTX, 256),
    )
    tmp = args.out + ".tmp"
    names_in = ["audio", "pos", "peak", "k_past", "v_past", "h_past"]
    names_out = ["log_probs", "k_new", "v_new", "h_new", "peak_out"]
    with torch.no_grad():
        torch.onnx.export(step, dummy, tmp, input_names=names_in, output_names=names_out,
                          dynamic_axes={"audio": {1: "S"}, "pos": {0: "N"}, "k_past": {1: "P"}, "v_past": {1: "P"},
                                        "log_probs": {1: "N3"}, "k_new": {1: "N"}, "v_new": {1: "N"}, "h_new": {1: "N"}},
                          opset_version=17, dynamo=False)
    model = onnx.load(tmp)
    n16 = fp16_initializers(model)
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    os.remove(tmp)
    import onnxruntime as ort

    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])

    def call(audio, pos, peak, k, v, h):
        return sess.run(None, dict(zip(names_in, [audio, pos, peak, k, v, h])))

    def torch_call(*xs):
        with torch.no_grad():
            return [t.numpy() for t in step(*(torch.from_numpy(np.asarray(x)) for x in xs))]

    waves = test_waves()
    # The exported graph computes what the module does.
    s_onnx, s_torch = Streamer(call, waves[1]), Streamer(torch_call, waves[1])
    for s in (s_onnx, s_torch):
        s.step(40, 36)
        s.step(30, 30)
    drift = float(np.abs(s_onnx.log_probs() - s_torch.log_probs()).max())
    assert drift < 1e-3, drift
    # One call over a whole input = the whole-utterance graph but for the ends' padding, which
    # attention spreads a little to every frame.
    worst = check(call, full, waves)
    assert worst < 0.02, worst
    digest = record_checksum(args.out)
    print(f"{args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB, {n16} float16 initializers, "
          f"max |log p_onnxruntime - log p_torch| = {drift:.1e}; "
          f"one call over a whole input vs the whole-utterance graph: max |dp| = {worst:.2e}; "
          f"head epoch {ck['epoch']}, sha256 {digest}")


if __name__ == "__main__":
    main()
