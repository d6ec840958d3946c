# Shared by ops/demo and ops/test: install Debian packages (only when something is missing) and
# build (incrementally). Sourced, not run.
set -euo pipefail
TCD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TCD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librocksdb-dev libsodium-dev libzmq3-dev cppzmq-dev
  libavformat-dev libavcodec-dev libavutil-dev libavdevice-dev libavfilter-dev
  libswscale-dev libswresample-dev ffmpeg
  libboost-filesystem-dev libspdlog-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libutf8proc-dev libtomlplusplus-dev libsqlite3-dev libssl-dev
  nginx libnginx-mod-rtmp
)

tcd_install_deps() {
  local missing=()
  for p in "${TCD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "== dependencies: all ${#TCD_PACKAGES[@]} Debian packages present"
    return
  fi
  echo "== installing ${#missing[@]} Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "ops: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# tcd_build DIR [cmake args…]: configure once, then build incrementally.
tcd_build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$TCD_ROOT" -B "$dir" -G Ninja "$@"
  fi
  cmake --build "$dir" -j "$(nproc)"
}
