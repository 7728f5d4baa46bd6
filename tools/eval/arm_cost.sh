#!/usr/bin/env bash
# ARM cost of the current build, in aarch64 instructions (issue 14): start-up, `transcribe`
# per audio second for each precision the default acoustic model has (and hama's), and
# `listen --input` per audio second with every partial computed (streamed partials, and
# for whisper-tiny also `--whole-partials`), on cortex-a72 (Raspberry
# Pi 4) and cortex-a76 (Raspberry Pi 5). Counts come from ../shared/tools/arm-insns/count
# (qemu-user with an instruction-counting plugin: deterministic, not time; read its header).
#
#   tools/eval/arm_cost.sh [AARCH64_NOMEN] [WAV]
#
# AARCH64_NOMEN: default target/aarch64-unknown-linux-gnu/release/nomen (build it with
#   cross/setup.sh && cargo build --release --target aarch64-unknown-linux-gnu --no-default-features).
# WAV: one utterance of about 10 s, 16 kHz mono; default: the committed LJSpeech fixture
#   tests/fixtures/real/ljspeech_LJ001-0020.wav played twice with no gap (9.35 s of speech).
# NOMEN_ARM_CPUS: the CPUs (default "cortex-a72 cortex-a76"). NOMEN_ARM_COUNT: the counter.
# NOMEN_ARM_LISTEN=0: no `listen` rows (they take most of the time: minutes per CPU).
# NOMEN_ARM_MODELS: comma-separated "MODEL PRECISION" pairs (default "whisper-tiny fp32,hama
#   fp32,hama int8").
# NOMEN_ARM_LIST: an entity list to load in every run (default none; issue 14's bars hold with
#   a 1k-entry list).
#
# Per audio second = (run - start-up) / the file's seconds (`listen` rows: minus `listen`'s
# own start-up on 0.1 s of silence); start-up is `transcribe` of
# 0.1 s of digital silence with the same model and list, once with an empty start-up cache
# (the first run after installing: every model file hashed, the LM analysed, the lexicon
# built; NOMEN_CACHE_DIR points at a fresh directory) and then warm, as every later run.
# Prints one Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."

arm=${1:-target/aarch64-unknown-linux-gnu/release/nomen}
wav=${2:-}
cpus=${NOMEN_ARM_CPUS:-cortex-a72 cortex-a76}
count=${NOMEN_ARM_COUNT:-../shared/tools/arm-insns/count}
[ -x "$arm" ] || { echo "arm_cost: no aarch64 binary at $arm (see the header)" >&2; exit 2; }
[ -x "$count" ] || { echo "arm_cost: no instruction counter at $count" >&2; exit 2; }
command -v sox >/dev/null || { echo "arm_cost: needs sox (apt-get install sox)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$wav" ]; then
    wav=$tmp/utterance.wav
    sox tests/fixtures/real/ljspeech_LJ001-0020.wav tests/fixtures/real/ljspeech_LJ001-0020.wav "$wav"
fi
secs=$(soxi -D "$wav")
silence=$tmp/silence.wav
sox -n -r 16000 -c 1 -b 16 "$silence" trim 0 0.1

export NOMEN_CACHE_DIR=$tmp/cache
IFS=, read -r -a specs <<<"${NOMEN_ARM_MODELS:-whisper-tiny fp32,hama fp32,hama int8}"
list=()
[ -n "${NOMEN_ARM_LIST:-}" ] && list=(--entities "$NOMEN_ARM_LIST")

# insns CPU ARGS...: the instruction count of one run (its output discarded).
insns() {
    local cpu=$1
    shift
    RUST_LOG=error "$count" --cpu "$cpu" "$arm" "$@" 2>"$tmp/err" >/dev/null || {
        echo "arm_cost: failed: $arm $*" >&2
        cat "$tmp/err" >&2
        exit 1
    }
    sed -n 's/^insns //p' "$tmp/err" | tail -n 1
}
g() { awk -v n="$1" 'BEGIN { printf "%.2f G", n / 1e9 }'; }
per_s() { awk -v r="$1" -v s="$2" -v t="$secs" 'BEGIN { printf "%.0f M", (r - s) / t / 1e6 }'; }
# ratio A B SA [SB]: (A - SA) / (B - SB), SB defaulting to SA.
ratio() { awk -v a="$1" -v b="$2" -v s="$3" -v t="${4:-$3}" 'BEGIN { printf "%.2fx", (a - s) / (b - t) }'; }

echo "arm_cost: $arm, $(basename "$wav") ($secs s), list: ${NOMEN_ARM_LIST:-none}" >&2
echo "| what | $(echo $cpus | sed 's/ / | /g') |"
echo "|$(for _ in what $cpus; do printf ' --- |'; done)"
declare -A rows
order=()
row() { # KEY TEXT
    [ -n "${rows[$1]+x}" ] || order+=("$1")
    rows[$1]="${rows[$1]:-| $2 |} $3 |"
}
for cpu in $cpus; do
    for spec in "${specs[@]}"; do
        set -- $spec
        m=(--acoustic-model "$1" --precision "$2")
        rm -rf "$NOMEN_CACHE_DIR"
        cold=$(insns "$cpu" transcribe -q "${m[@]}" "${list[@]}" "$silence")
        s=$(insns "$cpu" transcribe -q "${m[@]}" "${list[@]}" "$silence")
        r=$(insns "$cpu" transcribe -q "${m[@]}" "${list[@]}" "$wav")
        row "sc-$1-$2" "start-up, $1 $2, first run (\`transcribe\` of 0.1 s of silence, empty cache)" "$(g "$cold")"
        row "su-$1-$2" "start-up, $1 $2, every later run" "$(g "$s")"
        row "tr-$1-$2" "\`transcribe\` per audio second, $1 $2" "$(per_s "$r" "$s")"
        if [ "$2" = fp32 ] && [ "${NOMEN_ARM_LISTEN:-1}" != 0 ]; then
            # Each listen row minus that listen's own start-up (0.1 s of silence, the same
            # flags: the streaming graph is loaded only where partials use it).
            lrow() { # KEY TEXT FLAGS...
                local key=$1 text=$2
                shift 2
                local st run
                # Once to verify (and remember) the streaming graph's checksum, then counted.
                insns "$cpu" listen -q --input "$silence" --format jsonl "$@" "${m[@]}" "${list[@]}" >/dev/null
                st=$(insns "$cpu" listen -q --input "$silence" --format jsonl "$@" "${m[@]}" "${list[@]}")
                run=$(insns "$cpu" listen -q --input "$wav" --format jsonl "$@" "${m[@]}" "${list[@]}")
                [ $# -gt 0 ] || row "$key-su" "start-up of \`listen\`, every later run (0.1 s of silence; it also loads the streaming graph where there is one)" "$(g "$st")"
                row "$key" "$text" "$(per_s "$run" "$st") ($(ratio "$run" "$r" "$st" "$s") \`transcribe\`)"
            }
            lrow "li-$1" "\`listen --input\` per audio second, $1, every partial"
            lrow "l0-$1" "the same, \`--partial-interval 0\` (early-final checks and finals)" --partial-interval 0
            if [ "$1" = whisper-tiny ]; then
                lrow "lw-$1" "the same, every partial, \`--whole-partials\` (the whole-utterance graph for each)" --whole-partials
            fi
        fi
    done
done
for k in "${order[@]}"; do echo "${rows[$k]}"; done
