#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Magpie, builds it, and runs it.
#
#   ./magpie.sh run     install what is missing, build, and run Magpie on the bundled
#                       sample archive: the GUI when there is a display, else the
#                       headless demo (which prints what it did and where its output is)
#   ./magpie.sh test    install what is missing, build, and run the whole test suite
#   ./magpie.sh build   install what is missing and build only
#
# Packages come from Debian's repositories (apt, as root or with sudo); the
# default backbone's weights come from the npm registry (nsfwjs@4.3.0, pinned
# and integrity-checked) when the training engine is built.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
build=${MAGPIE_BUILD_DIR:-$here/build}
mode=${1:-run}

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite qt6-image-formats-plugins qt6-pdf-dev libgl-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libtorch-dev libopenblas0-openmp libfaiss-dev
  sqlite3 python3 openssl ca-certificates
)

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
  if [[ -n ${DISPLAY:-} && $mode == run ]] && ! dpkg-query -W -f='${Status}' qt6-qpa-plugins 2>/dev/null | grep -q "ok installed"; then
    missing+=(qt6-qpa-plugins)
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "magpie.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq || true
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() {
  # ccache hits across clones and build folders too
  export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=1
  log "configuring and building in $build (ninja, ccache; the first build takes a few minutes)"
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build"
}

install_missing
configure_and_build

case $mode in
  build) ;;
  test)
    log "running the tests"
    export QT_QPA_PLATFORM=offscreen
    ctest --test-dir "$build" --output-on-failure --timeout 900
    ;;
  run)
    if [[ (-n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-}) && -x $build/app/magpie ]]; then
      log "starting Magpie on the bundled sample archive"
      exec "$build/app/magpie" --sample
    else
      log "no display: running the headless demo on the bundled sample archive"
      exec "$build/app/magpie-cli" demo --out "${MAGPIE_DEMO_DIR:-$here/magpie-demo}"
    fi
    ;;
  *) echo "usage: ./magpie.sh run|test|build" >&2; exit 2 ;;
esac
