/** The one QEMU command line pofbench starts (testbed VMs and local stream captures). */

export interface VmConfig {
  /** Unique per VM process, e.g. `<run-id>-src`; names the per-VM directory on the host. */
  id: string;
  accel: 'tcg' | 'kvm';
  /** KVM with a dirty ring (QEMU's dirty-limit needs it); ignored under TCG, which has none. */
  dirtyRing?: boolean;
  memoryMib: number;
  vcpus: number;
  kernel: string;
  initrd: string;
  append: string;
  /** Guest data disk on the NAS, opened with QEMU's libnfs driver over the storage network. */
  nfsDisk?: { server: string; path: string };
  /** Guest NIC on a tap bridged to the vm network. */
  nic?: { tap: string; mac: string };
  /** Start as a migration destination (`-incoming defer`). */
  incoming?: boolean;
  /** Stay paused after an incoming migration (`-S`), e.g. to compare RAM. */
  startPaused?: boolean;
  /** Guest data disk as a local raw file (virtio, cache=none) instead of the NAS. */
  localDisk?: string;
  /** A virtio-mem device of this size, none of it plugged (QEMU then saves an early-setup device section). */
  virtioMemMib?: number;
  /**
   * Back all of the guest's RAM when QEMU starts (its memory backend's `prealloc=on`), not on first
   * touch. The backend keeps the default's id (`pc.ram`), so a `-m` source migrates into it.
   */
  preallocRam?: boolean;
  /** Log every guest block read/write (QEMU trace events) to this file: the POF source agent's I/O monitor. */
  traceLog?: string;
}

/** The id of the machine's default RAM backend on `-machine pc`: RAM blocks migrate by this name. */
const PC_RAM_ID = 'pc.ram';

/** `-m`: the guest's RAM (a preallocated backend of the default's id), room for a virtio-mem device if any. */
function memoryArgs(cfg: VmConfig): string[] {
  const ram = cfg.preallocRam
    ? ['-object', `memory-backend-ram,id=${PC_RAM_ID},size=${cfg.memoryMib}M,prealloc=on`]
    : [];
  if (!cfg.virtioMemMib) return ['-m', `${cfg.memoryMib}M`, ...ram];
  return [
    '-m',
    `${cfg.memoryMib}M,maxmem=${cfg.memoryMib + cfg.virtioMemMib}M`,
    ...ram,
    '-object',
    `memory-backend-ram,id=vmem0,size=${cfg.virtioMemMib}M`,
    '-device',
    'virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0',
  ];
}

/** The guest's data disk: on the NAS (libnfs), or a local raw file. */
function diskArgs(cfg: VmConfig): string[] {
  if (cfg.localDisk) return ['-drive', `file=${cfg.localDisk},if=virtio,format=raw,cache=none`];
  if (!cfg.nfsDisk) return [];
  return [
    '-blockdev',
    JSON.stringify({
      driver: 'nfs',
      'node-name': 'nas0',
      server: { type: 'inet', host: cfg.nfsDisk.server },
      path: cfg.nfsDisk.path,
      cache: { direct: true },
    }),
    '-blockdev',
    JSON.stringify({ driver: 'raw', 'node-name': 'disk0', file: 'nas0' }),
    '-device',
    'virtio-blk-pci,drive=disk0,id=vda',
  ];
}

/**
 * The QEMU command line for a VM whose sockets, console log (and, daemonized, pid file and log) are
 * in `dir`; every value is shell-quoted by the caller via `sh` (or passed as argv). `daemonize`:
 * a testbed VM (QEMU forks off, `-pidfile`, `-D` log); otherwise QEMU stays the caller's child.
 */
export function qemuArgv(cfg: VmConfig, dir: string, { daemonize = true } = {}): string[] {
  return [
    'qemu-system-x86_64',
    '-name',
    `pofbench-${cfg.id},debug-threads=on`,
    '-machine',
    cfg.preallocRam ? `pc,memory-backend=${PC_RAM_ID}` : 'pc',
    '-accel',
    cfg.accel === 'kvm' && cfg.dirtyRing ? 'kvm,dirty-ring-size=4096' : cfg.accel,
    ...(cfg.accel === 'kvm' ? ['-cpu', 'host'] : []),
    ...memoryArgs(cfg),
    '-smp',
    String(cfg.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-no-reboot',
    '-display',
    'none',
    '-vga',
    'none',
    '-kernel',
    cfg.kernel,
    '-initrd',
    cfg.initrd,
    '-append',
    cfg.append,
    '-chardev',
    `file,id=con,path=${dir}/console.log`,
    '-serial',
    'chardev:con',
    '-chardev',
    `socket,id=ctl,path=${dir}/ctl.sock,server=on,wait=off`,
    '-serial',
    'chardev:ctl',
    '-qmp',
    `unix:${dir}/qmp.sock,server=on,wait=off`,
    ...(daemonize ? ['-pidfile', `${dir}/qemu.pid`, '-D', `${dir}/qemu.log`, '-daemonize'] : []),
    ...diskArgs(cfg),
    ...(cfg.nic
      ? [
          '-netdev',
          `tap,id=n0,ifname=${cfg.nic.tap},script=no,downscript=no`,
          '-device',
          `virtio-net-pci,netdev=n0,mac=${cfg.nic.mac}`,
        ]
      : ['-nic', 'none']),
    ...(cfg.traceLog ? ['-trace', `enable=blk_co_p*,file=${cfg.traceLog}`] : []),
    ...(cfg.incoming ? ['-incoming', 'defer'] : []),
    ...(cfg.startPaused ? ['-S'] : []),
  ];
}
