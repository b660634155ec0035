#!/usr/bin/env bash
# The engine's WebGPU benchmarks on a Linux machine with an NVIDIA GPU, through Dawn (npm `webgpu`) and Vulkan,
# unattended and offline, from a copy of this repository; reports GFLOP/s and images/s against the card's FP32 peak.
#
# The copy needs node_modules (`npm ci` done where there is network: npm `webgpu` ships dawn.node for linux-x64) and
# either the build outputs (`npm run build`) or node_modules/.bin/asc and esbuild to make them (offline).
#   Node:    `node` on PATH, or NODE=/path/to/node, or bench/gpu/carry/node or node.xz (a linux-x64 binary).
#   Vulkan:  the system's libvulkan.so.1, or a Debian/Ubuntu libvulkan1_*.deb in bench/gpu/carry/ (unpacked locally).
#   Driver:  NVIDIA's Vulkan ICD json from the usual folders, else one written for libGLX_nvidia.so.0; VK_DRIVER_FILES
#            set by the caller wins.
#   Peak:    from the GPU's name (bench/gpu/report.mjs knows the common data-centre and desktop cards), or
#            --peak-tflops X (FP32, non-tensor, boost clock).
# Then the kernel variants side by side: matmul and the conv/BN passes on the GPU kernels (workgroup-tiled matmul and
# implicit-GEMM convolutions, subgroup reductions) and on the software-tuned ones (bench/matmul-webgpu.bench.ts,
# bench/conv-webgpu.bench.ts with --kernels=gpu|software), appended to the report.
# Output: $OUT if set, else bench/results/gpu/: gpu-<date>.md, gpu-<date>.json and the raw log.
# Usage: bash bench/gpu/run-nvidia.sh [--quick] [--peak-tflops X] [--matmul=1024,2048,4096] [--only=train,matmul]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
QUICK=()
PEAK=()
MATMUL=--matmul=256,1024,2048,4096
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --peak-tflops) PEAK=(--peak-tflops "$2"); shift ;;
    --matmul=*) MATMUL=$1 ;;
    --only=*) ONLY=("$1") ;;
    *) echo "run-nvidia.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
TMP=$(mktemp -d /tmp/swa-gpu-XXXXXX)
OUTDIR=${OUT:-$ROOT/bench/results/gpu}
mkdir -p "$OUTDIR"
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
LOG=$OUTDIR/gpu-$STAMP.log
say() { echo "[run-nvidia] $*" | tee -a "$LOG" >&2; }

# Node.
if [ -z "${NODE:-}" ]; then
  if command -v node >/dev/null 2>&1; then NODE=$(command -v node)
  elif [ -x bench/gpu/carry/node ]; then NODE=$ROOT/bench/gpu/carry/node
  elif [ -f bench/gpu/carry/node.xz ]; then
    xz -dc bench/gpu/carry/node.xz >"$TMP/node"; chmod +x "$TMP/node"; NODE=$TMP/node
  else echo "run-nvidia.sh: no Node found (PATH, NODE=, bench/gpu/carry/node[.xz])" >&2; exit 1; fi
fi
say "node $("$NODE" --version) at $NODE"

# Vulkan loader.
# NOTE: grep reads all of ldconfig's output (no -q): with pipefail, -q's early exit would fail the pipeline.
LIBS=$(ldconfig -p 2>/dev/null || true)
if ! grep 'libvulkan.so.1 ' >/dev/null <<<"$LIBS"; then
  DEB=$(ls bench/gpu/carry/libvulkan1_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$DEB" ]; then
    echo "run-nvidia.sh: no libvulkan.so.1 on this machine and no bench/gpu/carry/libvulkan1_*.deb" >&2; exit 1
  fi
  mkdir -p "$TMP/vk"
  if command -v dpkg-deb >/dev/null 2>&1; then dpkg-deb -x "$DEB" "$TMP/vk"
  else (cd "$TMP/vk" && ar x "$ROOT/$DEB" && tar xf data.tar.*); fi
  LIBDIR=$(dirname "$(find "$TMP/vk" -name 'libvulkan.so.1*' | head -1)")
  export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "Vulkan loader unpacked from $DEB into $LIBDIR"
fi

# NVIDIA's Vulkan driver manifest.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
           /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; break; fi
  done
  if [ -z "${VK_DRIVER_FILES:-}" ] && grep libGLX_nvidia.so.0 >/dev/null <<<"$LIBS"; then
    icd='{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}'
    printf '%s\n' "$icd" >"$TMP/nvidia_icd.json"
    export VK_DRIVER_FILES=$TMP/nvidia_icd.json
  fi
  if [ -n "${VK_DRIVER_FILES:-}" ]; then export VK_ICD_FILENAMES=$VK_DRIVER_FILES; fi
fi
say "Vulkan driver manifest: ${VK_DRIVER_FILES:-none found, the loader decides}"
mkdir -p "$TMP/xdg" && chmod 700 "$TMP/xdg"
export XDG_RUNTIME_DIR=$TMP/xdg

# The GPU as nvidia-smi names it.
GPU_NAME=unknown
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee -a "$LOG" >&2
fi

# Build what is missing (offline: asc and esbuild come from node_modules).
if [ ! -f build/compare/ours.js ] || [ ! -f build/kernels.wasm ]; then
  say "building the benchmark bundles"
  "$NODE" bench/compare/build-and-run.mjs --build-only 2>&1 | tee -a "$LOG" >&2
fi

say "running the WebGPU figures (ours.js webgpu --fast $MATMUL ${QUICK[*]:-} ${ONLY[*]:-})"
set +e
"$NODE" build/compare/ours.js webgpu --fast "$MATMUL" "${QUICK[@]}" "${ONLY[@]}" \
  >"$TMP/figures.txt" 2> >(tee -a "$LOG" >&2)
STATUS=$?
set -e
cat "$TMP/figures.txt" >>"$LOG"
"$NODE" bench/gpu/report.mjs "$TMP/figures.txt" "$OUTDIR/gpu-$STAMP" --gpu "$GPU_NAME" "${PEAK[@]}"

# The kernel variants: each bench once on the GPU kernels and once on the software-tuned ones.
if [ ! -f build/bench/conv-webgpu.bench.js ] || [ ! -f build/bench/matmul-webgpu.bench.js ]; then
  say "building the per-kernel benchmarks"
  "$NODE" build.mjs bench 2>&1 | tee -a "$LOG" >&2
fi
SIZES=(1024 2048 4096)
REPS=5
if [ ${#QUICK[@]} -gt 0 ]; then SIZES=(1024); REPS=3; fi
VARIANTS=0
{
  echo
  echo "## Kernel variants (--kernels=gpu against --kernels=software)"
  for k in gpu software; do
    echo
    echo "### $k"
    echo
    echo '```'
    "$NODE" build/bench/matmul-webgpu.bench.js "${SIZES[@]}" --kernels=$k 2>>"$LOG" || VARIANTS=1
    echo '```'
    echo
    "$NODE" build/bench/conv-webgpu.bench.js "$REPS" --kernels=$k 2>>"$LOG" || VARIANTS=1
  done
} >"$TMP/variants.md"
cat "$TMP/variants.md" | tee -a "$LOG" >>"$OUTDIR/gpu-$STAMP.md"
say "wrote $OUTDIR/gpu-$STAMP.md, .json and .log (figures exit status $STATUS, variants $VARIANTS)"
[ "$STATUS" -ne 0 ] && exit "$STATUS"
exit "$VARIANTS"
