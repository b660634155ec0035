#!/usr/bin/env bash
# Installs the system packages the tests need: lavapipe (Mesa from bookworm-backports) for WebGPU through Dawn,
# Chromium for the browser test, PyTorch for fixture scripts and peers, Fashion-MNIST.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$src" ]; then
  $SUDO tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
$SUDO apt-get install -y -qq chromium dataset-fashion-mnist >/dev/null
$SUDO apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread libjemalloc2 >/dev/null
echo "system packages installed"
