#!/usr/bin/env bash
# One-time machine set-up + Release build. Idempotent and fast when already done.
# Used by ./gensharp and ./scripts/test.sh; safe to run by hand.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$root/.build/setup.stamp"

log() { printf '\033[2m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

has_glibcxx_3_4_32() {
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [ -e "$lib" ] && grep -aq 'GLIBCXX_3\.4\.32' "$lib" && return 0
  done
  return 1
}

# Debian 13 (trixie) as an extra source pinned low, so nothing moves unless asked for with -t trixie: libstdc++ for
# TorchSharp and PostgreSQL 17 + pgvector for the tests come from it.
add_trixie_source() {
  [ -f /etc/apt/sources.list.d/gensharp-trixie.sources ] && return 0
  local src=/etc/apt/sources.list.d/debian.sources
  if [ ! -r "$src" ]; then
    echo "error: $src is missing: GenSharp's set-up takes libstdc++ (GCC 13+) and PostgreSQL 17 from Debian 13 (trixie);" >&2
    echo "       use Ubuntu 24.04+, Debian 13+ or Fedora 39+, or install a newer libstdc++6 (and PostgreSQL 17 with pgvector for the tests)." >&2
    exit 1
  fi
  # Reuse the URI already configured for the main Debian archive (not -security).
  local uri
  uri=$(awk '/^URIs:/ {print $2}' "$src" | grep -v -- '-security' | head -n1)
  [ -n "$uri" ] || { echo "error: no URIs: line found in $src" >&2; exit 1; }
  log "adding Debian 13 (trixie) via $uri, pinned low"
  as_root tee /etc/apt/sources.list.d/gensharp-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  as_root tee /etc/apt/preferences.d/gensharp-trixie >/dev/null <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  as_root apt-get update -qq
}

# TorchSharp's native library needs libstdc++ from GCC 13+ (GLIBCXX_3.4.32); on Debian 12 it comes from trixie.
install_new_libstdcxx() {
  has_glibcxx_3_4_32 && return 0
  add_trixie_source
  log "installing libstdc++6 from Debian 13 (trixie)"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  has_glibcxx_3_4_32 || { echo "error: libstdc++6 from trixie installed but GLIBCXX_3.4.32 still missing" >&2; exit 1; }
}

# The retrieval tests run against a real PostgreSQL 17 with pgvector (scripts/postgres.sh starts a private cluster).
install_postgres() {
  [ -x /usr/lib/postgresql/17/bin/pg_ctl ] && [ -f /usr/share/postgresql/17/extension/vector.control ] && return 0
  if ! apt-cache show postgresql-17-pgvector >/dev/null 2>&1; then add_trixie_source; fi
  log "installing PostgreSQL 17 and pgvector"
  local release=()
  apt-cache policy postgresql-17-pgvector | grep -q 'trixie' && release=(-t trixie)
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${release[@]}" postgresql-17 postgresql-17-pgvector >/dev/null
}

# Debian packages the project uses: fonts for plots (ScottPlot/SkiaSharp need fontconfig + a font),
# Fashion-MNIST for the image models; for the tests, chromium.
install_debian_packages() {
  local missing=()
  dpkg -s fontconfig >/dev/null 2>&1 || missing+=(fontconfig)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
  dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
  # The test suite also drives the web playground in Debian's chromium (with an emoji font for the 👍/👎 buttons).
  if [ "${GENSHARP_SETUP_TESTS:-0}" = 1 ]; then
    dpkg -s chromium >/dev/null 2>&1 || missing+=(chromium)
    dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
    # An independent check of PEFT's adapter layout in plain Python (bench/reference/peft_merge_check.py).
    dpkg -s python3 >/dev/null 2>&1 || missing+=(python3)
    # The retrieval tests read Debian's own documents: a real PDF manual (and man pages, HTML that every system has).
    dpkg -s libtasn1-doc >/dev/null 2>&1 || missing+=(libtasn1-doc)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Rebuild only when a source or project file is newer than the last build, or an output is missing
# (a stamp copied without the build output must not count as a build).
needs_build() {
  [ -f "$stamp" ] || return 0
  local out
  for out in "$root/src/GenSharp.Cli/bin/Release/net10.0/GenSharp.Cli.dll" "$root/tests/GenSharp.Tests/bin/Release/net10.0/GenSharp.Tests.dll"; do
    [ -f "$out" ] || return 0
  done
  [ -n "$(find "$root/src" "$root/tests" "$root/bench" "$root"/*.props "$root"/*.slnx \
           -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.slnx' -o -name '*.html' -o -name '*.js' -o -name '*.css' \) \
           -print -quit 2>/dev/null)" ]
}

install_new_libstdcxx
install_debian_packages
[ "${GENSHARP_SETUP_TESTS:-0}" = 1 ] && install_postgres
if needs_build; then
  log "building (Release)"
  mkdir -p "$root/.build"
  if ! dotnet build "$root/GenSharp.slnx" -c Release -nologo -tl:off -v q > "$root/.build/build.log" 2>&1; then
    grep -E ': error ' "$root/.build/build.log" | sort -u >&2 || true
    echo "error: build failed (full log: .build/build.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
