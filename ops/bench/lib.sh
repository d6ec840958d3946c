# Shared by the ops/bench scripts (sourced, not run): dependencies, the release build, and the
# result file every benchmark writes (see ops/bench/README.md for its schema).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# What the benchmarks use beyond the project's own packages: jq (result files), rsync (the
# replication peer), psmisc (killall), procps (ps, pgrep).
TCD_BENCH_PACKAGES=(jq rsync psmisc procps)

tcd_bench_setup() {
  TCD_PACKAGES+=("${TCD_BENCH_PACKAGES[@]}")
  tcd_install_deps
  cd "$TCD_ROOT"
  mkdir -p out/bench
}

# tcd_bench_build TARGET…: the Release build in build-release/ (benchmarks are never measured
# on the RelWithDebInfo or sanitizer builds).
tcd_bench_build() {
  if [ ! -f build-release/build.ninja ]; then
    cmake -S "$TCD_ROOT" -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build build-release --target "$@" -j "$(nproc)"
}

# bench_stats V1 V2 …: {"median":…,"min":…,"max":…,"runs":[…]} of the numbers given.
bench_stats() {
  printf '%s\n' "$@" | jq -s '{median: (sort | if length % 2 == 1 then .[length/2|floor]
      else (.[length/2 - 1] + .[length/2]) / 2 end), min: min, max: max, runs: .}'
}
