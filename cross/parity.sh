#!/usr/bin/env bash
# End-to-end check that the aarch64 build transcribes like the x86-64 build: runs
# `nomen transcribe --format jsonl` with biasing on (tests/fixtures/bias/contacts.txt) over
# every committed fixture (tests/fixtures/audio, tests/fixtures/bias, tests/fixtures/real)
# with both binaries,
# the aarch64 one under qemu, and fails if a transcript or a recognized entity differs.
# Word times and confidences are compared too, but only reported (float rounding may
# legitimately differ between CPUs; so far they have been identical).
#
#   cross/parity.sh [X86_NOMEN] [AARCH64_NOMEN]
#
# Defaults: target/release/nomen and target/aarch64-unknown-linux-gnu/release/nomen.
# NOMEN_PARITY_CPUS: the emulated CPUs, as qemu CPU model[:tract CPU part], space separated
# (default "cortex-a72": Raspberry Pi 4). tract tunes its kernels for the core it reads
# from /proc/cpuinfo, which under qemu is the host's, so ":0xd03" makes tract take its
# Cortex-A53 path (Raspberry Pi 3 / Zero 2 W), e.g.
#   NOMEN_PARITY_CPUS="cortex-a72 cortex-a53:0xd03 cortex-a76" cross/parity.sh
#
# Then the live path: `nomen listen --input FILE --format jsonl` (fast mode: the file
# streamed as fast as it is processed; every partial computed on the streaming graph,
# early-final checks and finals on the whole-utterance graph) over the same fixtures with
# both binaries, biasing on; the final results' text and entities must be the same
# (latencies and times are not compared; partials only must come, without error events,
# since their last digits may differ between the architectures' kernels). Six of the fixtures
# by default (two of each directory, names included: one emulated `listen` process per file
# costs a start-up each, about 18 s under qemu); NOMEN_PARITY_LISTEN=all takes all of them,
# NOMEN_PARITY_LISTEN=0 skips this part.
set -euo pipefail
cd "$(dirname "$0")/.."

x86=${1:-target/release/nomen}
arm=${2:-target/aarch64-unknown-linux-gnu/release/nomen}
cpus=${NOMEN_PARITY_CPUS:-cortex-a72}
qemu=${QEMU:-qemu-aarch64-static}
args=(transcribe --format jsonl -q --entities tests/fixtures/bias/contacts.txt
    tests/fixtures/audio/*.wav tests/fixtures/bias/*.wav tests/fixtures/real/*.wav)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Transcript and entity names of each line: drop the word list and every number.
transcripts() {
    sed -E 's/,"words":.*//; s/"(start|end|score)":[-+0-9.eE]+,?//g' "$1"
}

"$x86" "${args[@]}" >"$out/x86.jsonl"
n=$(wc -l <"$out/x86.jsonl")
echo "parity: x86-64: $n transcripts ($(grep -c '"entities":\[{' "$out/x86.jsonl") with an entity)"
status=0
for spec in $cpus; do
    cpu=${spec%%:*}
    part=
    [ "$spec" != "$cpu" ] && part=${spec#*:}
    start=$(date +%s)
    TRACT_CPU_AARCH64_OVERRIDE_CPU_PART=$part RUST_LOG=error \
        "$qemu" -cpu "$cpu" "$arm" "${args[@]}" >"$out/$spec.jsonl"
    secs=$(($(date +%s) - start))
    if ! diff <(transcripts "$out/x86.jsonl") <(transcripts "$out/$spec.jsonl") >"$out/diff"; then
        echo "parity: FAIL: aarch64 ($spec) transcripts differ from x86-64:"
        cat "$out/diff"
        status=1
    elif cmp -s "$out/x86.jsonl" "$out/$spec.jsonl"; then
        echo "parity: ok: aarch64 ($spec): same $n transcripts; JSONL byte-identical, word times and confidences included (${secs} s under qemu)"
    else
        echo "parity: ok: aarch64 ($spec): same $n transcripts and entities; word times or confidences differ:"
        diff "$out/x86.jsonl" "$out/$spec.jsonl" | head -n 6 || true
    fi
done

[ "${NOMEN_PARITY_LISTEN:-1}" = 0 ] && exit $status
# Finals only: type, text and entity names of each final event, one line each.
finals() {
    grep '"type":"final"' "$1" | sed -E 's/"(latency_ms|endpoint_latency_ms|start|end|score)":[-+0-9.eE]+,?//g; s/,"words":\[[^]]*\]//g'
}
listen=(listen --format jsonl -q --entities tests/fixtures/bias/contacts.txt)
if [ "${NOMEN_PARITY_LISTEN:-}" = all ]; then
    files=(tests/fixtures/audio/*.wav tests/fixtures/bias/*.wav tests/fixtures/real/*.wav)
else
    files=(tests/fixtures/audio/espeak_message_brown.wav tests/fixtures/audio/flite_kitchen_lights.wav
        tests/fixtures/bias/espeak_1.wav tests/fixtures/bias/flite_4.wav
        tests/fixtures/real/ljspeech_LJ001-0020.wav tests/fixtures/real/fsdd_2_jackson_5.wav)
fi
for f in "${files[@]}"; do
    "$x86" "${listen[@]}" --input "$f" >>"$out/listen-x86.jsonl"
done
nf=$(grep -c '"type":"final"' "$out/listen-x86.jsonl" || true)
echo "parity: listen, x86-64: $nf finals from ${#files[@]} files"
if [ "$nf" -lt "${#files[@]}" ]; then
    echo "parity: FAIL: x86-64 listen gave fewer finals than files (every fixture has speech)"
    status=1
fi
for spec in $cpus; do
    cpu=${spec%%:*}
    part=
    [ "$spec" != "$cpu" ] && part=${spec#*:}
    start=$(date +%s)
    for f in "${files[@]}"; do
        TRACT_CPU_AARCH64_OVERRIDE_CPU_PART=$part RUST_LOG=error \
            "$qemu" -cpu "$cpu" "$arm" "${listen[@]}" --input "$f" >>"$out/listen-$spec.jsonl"
    done
    secs=$(($(date +%s) - start))
    np=$(grep -c '"type":"partial"' "$out/listen-$spec.jsonl" || true)
    if [ "$np" -eq 0 ] || grep -q '"type":"error"' "$out/listen-$spec.jsonl"; then
        echo "parity: FAIL: aarch64 ($spec) listen gave $np partials, or error events:"
        grep '"type":"error"' "$out/listen-$spec.jsonl" || true
        status=1
    fi
    if ! diff <(finals "$out/listen-x86.jsonl") <(finals "$out/listen-$spec.jsonl") >"$out/diff"; then
        echo "parity: FAIL: aarch64 ($spec) listen finals differ from x86-64:"
        cat "$out/diff"
        status=1
    else
        echo "parity: ok: aarch64 ($spec) listen: same $nf finals, text and entities; $np partials (${secs} s under qemu)"
    fi
done
exit $status
