/**
 * Guest-side files of the pofbench guest image (busybox initramfs), as text. They are part of the
 * image's input hash: any change here rebuilds the initramfs.
 *
 * Boot: the kernel runs /init (busybox `init`), which reads /etc/inittab: `rcS` once (mounts,
 * modules, network, data disk), then respawns the control agent on ttyS1 forever. PID 1 is busybox
 * init, so background jobs ending (or the agent dying) never end PID 1; init also reaps orphans.
 */

/** Where the module list (relative to /lib/modules/<version>/, one per line, load order) lives. */
export const GUEST_MODULE_LIST = '/etc/pof/modules';
export const GUEST_AGENT_PATH = '/sbin/pof-agent';
export const GUEST_RCS_PATH = '/etc/init.d/rcS';
export const GUEST_RUN_PATH = '/sbin/pof-run';
const GUEST_AGENT_DIR = '/run/pof-agent';

export const GUEST_INITTAB = `# pofbench guest: busybox init
::sysinit:${GUEST_RCS_PATH}
ttyS1::respawn:${GUEST_AGENT_PATH}
ttyS0::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
::restart:/sbin/init
`;

export const GUEST_RCS = `#!/bin/sh
# pofbench guest rcS: run once by busybox init before the agent starts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q ' /dev devtmpfs ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
hostname pofguest
log() { echo "pof-rcS: $*" >/dev/console; }

kver=$(uname -r)
while read -r m; do
  [ -n "$m" ] || continue
  insmod "/lib/modules/$kver/$m" || log "insmod $m failed"
done <${GUEST_MODULE_LIST}

ip link set lo up
addr=; gw=
for w in $(cat /proc/cmdline); do
  case "$w" in
    pof.ip=*) addr=\${w#pof.ip=} ;;
    pof.gw=*) gw=\${w#pof.gw=} ;;
  esac
done
if [ -n "$addr" ] && ip link show eth0 >/dev/null 2>&1; then
  ip addr add "$addr" dev eth0 && ip link set eth0 up && log "eth0 $addr"
  [ -z "$gw" ] || ip route add default via "$gw" || log "default route via $gw failed"
fi

mkdir -p /data
if [ -e /sys/block/vda ]; then
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if mount -t ext4 -o rw,noinit_itable /dev/vda /data; then log "/dev/vda mounted on /data"
  else log "mounting /dev/vda failed: continuing without /data"; fi
fi
log "up after $(cut -d' ' -f1 /proc/uptime) s"
`;

/**
 * The control agent. Runs on ttyS1 (stdin/stdout set up by init). Line protocol:
 *   host: `ping`                 → guest: `@@READY`
 *   host: `<id> <base64 script>` → guest: `@@RESULT <id> <rc> <base64 of stdout+stderr>`
 * Lines that do not parse are ignored. awk reads the tty (ash's `read` costs a syscall per byte:
 * ~10 s for a 150 KB line under TCG); each command runs via GUEST_RUN. The script's stdio goes to
 * /dev/null and a file, never the tty, so background jobs it starts cannot hold the channel open
 * or block the agent.
 */
export const GUEST_AGENT = `#!/bin/sh
# pofbench guest control agent (ttyS1)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
stty raw -echo clocal -ixoff 2>/dev/null
mkdir -p ${GUEST_AGENT_DIR}
echo '@@READY'
exec awk '
{ sub(/\\r$/, "") }
$0 == "ping" { print "@@READY"; fflush(); next }
$0 ~ "^[A-Za-z0-9_-]+ [A-Za-z0-9+/=]*$" {
  i = index($0, " ")
  f = "${GUEST_AGENT_DIR}/s.b64"
  printf "%s\\n", substr($0, i + 1) > f
  close(f)
  fflush()
  system("exec ${GUEST_RUN_PATH} " substr($0, 1, i - 1))
}
'
`;

/** Runs one command for the agent: $1 = id, the base64 script in s.b64; prints the @@RESULT line. */
export const GUEST_RUN = `#!/bin/sh
W=${GUEST_AGENT_DIR}
if base64 -d $W/s.b64 >$W/s 2>/dev/null; then
  (cd / && exec sh $W/s) </dev/null >$W/o 2>&1
  rc=$?
else
  echo 'pof-agent: script is not valid base64' >$W/o
  rc=126
fi
printf '@@RESULT %s %s ' "$1" "$rc"
base64 -w 0 $W/o
echo
rm -f $W/s $W/o $W/s.b64
`;

export const GUEST_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
export const GUEST_GROUP = 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n';
export const GUEST_HOSTS = '127.0.0.1\tlocalhost\n127.0.1.1\tpofguest\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** All guest-side text that goes into the image (for the input hash). */
export const GUEST_SCRIPT_TEXT: string = [
  GUEST_INITTAB,
  GUEST_RCS,
  GUEST_AGENT,
  GUEST_RUN,
  GUEST_PASSWD,
  GUEST_GROUP,
  GUEST_HOSTS,
].join('\0');
