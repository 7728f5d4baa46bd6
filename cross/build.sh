#!/usr/bin/env bash
# Cross-builds the shipped nomen for aarch64 boards (Raspberry Pi 4/5) on an x86-64 Debian
# machine and packs what the board needs into one archive:
#
#   cross/build.sh [--zig] [--no-mic] [--profile PROFILE]
#
#   --zig          link against glibc 2.31 with cargo-zigbuild, for older OS images
#                  (Raspberry Pi OS Bullseye); needs `pip install ziglang` and
#                  `cargo install cargo-zigbuild`
#   --no-mic       without microphone capture (`nomen listen`): no ALSA needed anywhere
#   --profile P    cargo profile (default: dist, see Cargo.toml)
#
# Run cross/setup.sh once first. Output:
#   target/aarch64-unknown-linux-gnu/<profile>/nomen
#   target/nomen-<version>-aarch64-linux-gnu.tar.gz, which unpacks to nomen/ holding the
#   binary, models-quantized/, the sample WAVs `nomen bench` measures on
#   (tests/fixtures/audio/) and nomen-listen.service.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
profile=dist
zig=0
features=()
while [ $# -gt 0 ]; do
    case "$1" in
        --zig) zig=1 ;;
        --no-mic) features=(--no-default-features) ;;
        --profile) profile=$2; shift ;;
        *) echo "usage: cross/build.sh [--zig] [--no-mic] [--profile PROFILE]" >&2; exit 2 ;;
    esac
    shift
done

if [ $zig = 1 ]; then
    # glibc 2.31 symbols. zig's linker does not accept libasound's undefined references to
    # newer glibc symbols it cannot see; they resolve on the board.
    RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,--allow-shlib-undefined" \
        cargo zigbuild --profile "$profile" --target "$target.2.31" "${features[@]}" --bin nomen
else
    cargo build --profile "$profile" --target "$target" "${features[@]}" --bin nomen
fi
bin=target/$target/$profile/nomen

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/nomen/tests/fixtures"
cp "$bin" cross/nomen-listen.service "$stage/nomen/"
cp -r models-quantized "$stage/nomen/"
cp -r tests/fixtures/audio "$stage/nomen/tests/fixtures/"
archive=target/nomen-$version-aarch64-linux-gnu.tar.gz
tar -C "$stage" -czf "$archive" nomen
echo "$bin: $(stat -c %s "$bin") bytes; needs $(aarch64-linux-gnu-objdump -T "$bin" 2>/dev/null |
    grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1 || echo 'glibc ?')"
echo "$archive: $(stat -c %s "$archive") bytes"
