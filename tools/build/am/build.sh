#!/usr/bin/env bash
# Rebuilds models-quantized/whisper_tiny_ctc.onnx (nomen's own acoustic model) and its
# streaming form whisper_tiny_ctc_stream.onnx from scratch,
# the steps in the order they were run for the shipped file (see
# models-quantized/MODEL_CARD_whisper_tiny_ctc.md):
#
#   tools/build/am/build.sh [DATA_DIR]        # default /tmp/nomen-am; about 3 h on 2 CPU cores
#
# Needs: apt-get install espeak-ng flite fortunes fortunes-min; pip install -r
# tools/requirements.txt. DATA_DIR takes about 2.2 GB of audio and 5 GB of encoder outputs;
# training holds the outputs in memory (about 8 GB).
set -euo pipefail
cd "$(dirname "$0")/../../.."
data=${1:-/tmp/nomen-am}
py=${PYTHON:-python3}

# 0. The rebuilt encoder equals ctranslate2's, the graph's log-mel equals the reference.
$py tools/build/am/whisper.py --check
# 1. Validation voices (never in training) and 16,000 training utterances (14.6 h).
$py tools/build/am/synth.py --out "$data" --split valid --utterances 600 --shard-size 300 --seed 7
$py tools/build/am/synth.py --out "$data" --split train --utterances 16000 --seed 1
# 2. The frozen encoder's outputs, once.
$py tools/build/am/features.py --data "$data"
# 3. The head: 10 epochs from random weights.
$py tools/build/am/train.py --data "$data" --out "$data/head-v1.pt" --epochs 10 --lr 3e-3 --seed 1
# 4. 5,000 more utterances (4.6 h, other texts and voice draws), 6 more epochs over all 19 h.
$py tools/build/am/synth.py --out "$data" --split train --utterances 5000 --seed 2 --first-shard 100
$py tools/build/am/features.py --data "$data"
$py tools/build/am/train.py --data "$data" --out "$data/head-v2.pt" --init "$data/head-v1.pt" \
    --epochs 6 --lr 1.5e-3 --seed 2
# 5. One ONNX graph (front end + encoder + head), its line in SHA256SUMS.
$py tools/build/am/export.py --head "$data/head-v2.pt" --out models-quantized/whisper_tiny_ctc.onnx
# 6. The streaming graph (live partials): the head fine-tuned on the streamed encoder's
#    frames (tools/build/am/STREAM_HEAD.md), then the graph, its line in SHA256SUMS.
$py tools/build/am/stream_features.py --data "$data"
$py tools/build/am/train.py --data "$data" --feats sfeats --init "$data/head-v2.pt" \
    --out "$data/head-stream.pt" --epochs 6 --lr 1e-3 --seed 3 --threads 2
$py tools/build/am/stream.py --head "$data/head-stream.pt" --out models-quantized/whisper_tiny_ctc_stream.onnx
