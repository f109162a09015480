#!/usr/bin/env bash
# Installs what pofbench needs on a Debian 12 machine (root): Debian packages, npm packages, the
# compiled CLI. Idempotent: installs only what is missing, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86 qemu-block-extra qemu-utils          # guests, libnfs block driver
  nfs-ganesha nfs-ganesha-vfs rpcbind                  # the NAS (userspace NFS)
  openssh-server openssh-client socat                  # per-host sshd, controller tunnel
  iproute2 iputils-ping fping util-linux procps kmod   # namespaces, tc, probe (fping)
  linux-image-cloud-amd64 busybox-static stress-ng sysbench e2fsprogs cpio gzip  # guest image
  git ca-certificates
  gcc libc6-dev make python3                           # node-gyp: the native hot path (native/pofhot.c)
  victoria-metrics                                     # InfluxDB-protocol server for the sink test
  chromium fonts-dejavu-core                           # headless browser for the HTML report test
  ansible-core ansible-lint                            # lab provisioning (ansible/), its lint and local run tests
)

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: must run as root (network namespaces, apt)" >&2
  exit 2
fi

# QEMU comes from bookworm-backports (10.x): Debian 12's own 7.2 loses pages under TCG from the 4th
# pre-copy pass on. Only the QEMU packages (and the SeaBIOS they need) are pinned to backports; everything else stays on Debian 12.
QEMU_PACKAGES=(qemu-system-x86 qemu-system-common qemu-system-data qemu-system-gui qemu-block-extra qemu-utils seabios)  # + its BIOS
QEMU_MIN_MAJOR=10
BACKPORTS_LIST=/etc/apt/sources.list.d/pofbench-bookworm-backports.sources
BACKPORTS_PIN=/etc/apt/preferences.d/pofbench-qemu-backports
added_source=0
if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # the same mirror and keyring as the machine's own bookworm source
    mirror=$(sed -n 's/^URIs:[[:space:]]*\(.*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\)\/\?[[:space:]]\+bookworm[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$BACKPORTS_LIST"
    added_source=1
  fi
  pin=$(printf 'Explanation: pofbench: QEMU (only) from bookworm-backports\nPackage: %s\nPin: release n=bookworm-backports\nPin-Priority: 990\n' "${QEMU_PACKAGES[*]}")
  if [ "$(cat "$BACKPORTS_PIN" 2>/dev/null)" != "$pin" ]; then printf '%s\n' "$pin" > "$BACKPORTS_PIN"; added_source=1; fi
fi
qemu_version() { { qemu-system-x86_64 --version 2>/dev/null || true; } | sed -n 's/.*version \([0-9.]*\).*/\1/p;q'; }
qemu_major() { qemu_version | cut -d. -f1; }

missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# an older QEMU (Debian 12's 7.2) is upgraded to the backports build, block modules and storage daemon included
have=$(qemu_major); [ -n "$have" ] && [ "$have" -lt "$QEMU_MIN_MAJOR" ] && missing+=(qemu-system-x86 qemu-block-extra qemu-utils)
if [ ${#missing[@]} -gt 0 ] || [ $added_source = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
have=$(qemu_major)
if [ -z "$have" ] || [ "$have" -lt "$QEMU_MIN_MAJOR" ]; then
  echo "setup: QEMU >= $QEMU_MIN_MAJOR is required (found: $(qemu-system-x86_64 --version 2>/dev/null | head -1 || echo none)); is bookworm-backports reachable?" >&2
  exit 2
fi
qsd=$({ qemu-storage-daemon --version 2>/dev/null || true; } | sed -n 's/.*version \([0-9.]*\).*/\1/p;q')
qsys=$(qemu_version)
if [ "$qsd" != "$qsys" ]; then
  echo "setup: qemu-storage-daemon $qsd does not match qemu-system-x86_64 $qsys (qemu-utils and qemu-system-x86 must come from one build)" >&2
  exit 2
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
