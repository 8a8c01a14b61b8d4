#!/usr/bin/env bash
# The ARM builds of cJSON that the prebuilt ocre-oci links and ships
# (scripts/prebuild-all.mjs): Debian's libcjson1 for arm64 and armhf,
# unpacked into deps/cjson/<arch>/libcjson.so.1 — nothing is installed.
#
# Installing libcjson-dev:arm64 through multiarch would also install
# libc6:arm64 in /lib/aarch64-linux-gnu, where the emulated loader of the
# cross tests (qemu-user with the libc6-*-cross sysroots) then finds a second
# libc and breaks; so the package is only downloaded and unpacked. Needs root
# (apt): the foreign architecture is added for the download and removed again
# when this script added it. The files are kept in the user's cache too
# (${XDG_CACHE_HOME:-~/.cache}/ocre-node/cjson/<arch>/), so other checkouts
# on the machine copy them from there without apt. Idempotent: an
# architecture already present in deps/cjson/ is skipped. Run by
# scripts/prebuild-all.mjs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for arch in arm64 armhf; do
  out="deps/cjson/$arch"
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/ocre-node/cjson/$arch"
  [ -e "$out/libcjson.so.1" ] && continue
  if [ -e "$cache/libcjson.so.1" ] && [ -e "$cache/copyright" ]; then
    mkdir -p "$out"
    cp "$cache/copyright" "$out/copyright"
    cp "$cache/libcjson.so.1" "$out/libcjson.so.1.tmp"
    mv "$out/libcjson.so.1.tmp" "$out/libcjson.so.1"
    echo "fetch-cjson: $out/libcjson.so.1 (from $cache)"
    continue
  fi
  added=
  if ! { [ "$(dpkg --print-architecture)" = "$arch" ] || dpkg --print-foreign-architectures | grep -qx "$arch"; }; then
    dpkg --add-architecture "$arch"
    added=1
  fi
  tmp="$(mktemp -d)"
  chmod 755 "$tmp" # apt's download user must be able to write there
  ok=
  for try in 1 2; do # a mirror mid-sync can fail one index
    if apt-get update -qq >/dev/null 2>&1 || [ "$try" = 2 ]; then
      if (cd "$tmp" && apt-get download -qq "libcjson1:$arch" >/dev/null 2>&1); then ok=1; break; fi
    fi
  done
  [ -n "$added" ] && dpkg --remove-architecture "$arch"
  if [ -z "$ok" ]; then
    rm -rf "$tmp"
    echo "fetch-cjson: cannot download libcjson1:$arch with apt-get" >&2
    exit 1
  fi
  dpkg-deb -x "$tmp"/libcjson1_*_"$arch".deb "$tmp/root"
  mkdir -p "$out"
  cp "$(find "$tmp/root" -name 'libcjson.so.1.*' -type f | head -1)" "$out/libcjson.so.1.tmp"
  cp "$tmp/root/usr/share/doc/libcjson1/copyright" "$out/copyright"
  mv "$out/libcjson.so.1.tmp" "$out/libcjson.so.1"
  rm -rf "$tmp"
  mkdir -p "$cache" && cp "$out/copyright" "$out/libcjson.so.1" "$cache/" 2>/dev/null || true
  echo "fetch-cjson: $out/libcjson.so.1"
done
