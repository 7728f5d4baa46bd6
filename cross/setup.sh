#!/usr/bin/env bash
# Installs what cross-building nomen for aarch64 needs on an x86-64 Debian machine:
# the Rust standard library for aarch64-unknown-linux-gnu (rustup), Debian's cross C
# compiler (also assembles tract's NEON kernels), and arm64 ALSA for cpal (`mic` feature).
# With --qemu also qemu-user-static, to run aarch64 binaries and tests here.
#
#   cross/setup.sh [--qemu]
#
# Idempotent: a few seconds when everything is present. Exits non-zero when something
# cannot be installed (no network, no sudo). Debian 12/13; on Ubuntu, arm64 packages come
# from ports.ubuntu.com, which needs its own apt source first.
set -euo pipefail

target=aarch64-unknown-linux-gnu
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross libasound2-dev:arm64)
[ "${1:-}" = --qemu ] && pkgs+=(qemu-user-static)
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi

if command -v rustup >/dev/null; then
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
elif ! [ -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
    echo "cross/setup.sh: no rustup, and this Rust has no $target standard library" >&2
    exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        "${sudo[@]}" dpkg --add-architecture arm64
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
