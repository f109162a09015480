#!/usr/bin/env bash
# Installs what pofbench needs on a Debian 12 machine (root): Debian packages, npm packages, the
# compiled CLI. Idempotent: installs only what is missing, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86 qemu-block-extra qemu-utils          # guests, libnfs block driver
  nfs-ganesha nfs-ganesha-vfs rpcbind                  # the NAS (userspace NFS)
  openssh-server openssh-client socat                  # per-host sshd, controller tunnel
  iproute2 iputils-ping util-linux procps kmod         # namespaces, tc, probe
  linux-image-cloud-amd64 busybox-static stress-ng sysbench e2fsprogs cpio gzip  # guest image
  git ca-certificates
  victoria-metrics                                     # InfluxDB-protocol server for the sink test
  chromium fonts-dejavu-core                           # headless browser for the HTML report test
  ansible-core ansible-lint                            # lab provisioning (ansible/), its lint and local run tests
)

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: must run as root (network namespaces, apt)" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "setup: ready ($(node --version), $(qemu-system-x86_64 --version | head -1))"
