/**
 * A testbed as the runner sees it: three hosts reached over SSH, the NICs to measure, the NAS
 * export, and where the guest's network lives. The local namespace testbed and a lab both produce
 * one of these; the runner never asks which kind it drives beyond the `kind` label it records.
 */
import type { SshTarget } from '../hosts/ssh.js';

export type HostRole = 'src' | 'dst' | 'nas';

/** How a QEMU gets the guest's RAM: on first touch (the default) or all of it when QEMU starts. */
export const GUEST_RAM_MODES = ['on-demand', 'prealloc'] as const;
export type GuestRamMode = (typeof GUEST_RAM_MODES)[number];

/** Why `v` is not a guest RAM mode. */
export function guestRamProblem(v: unknown): string | undefined {
  if ((GUEST_RAM_MODES as readonly unknown[]).includes(v)) return undefined;
  return `${JSON.stringify(v)} is not one of ${GUEST_RAM_MODES.join(', ')}`;
}

export interface HostSpec {
  name: string;
  role: HostRole;
  ssh: SshTarget;
  /** NIC names on this host, by network. */
  nics: { migration?: string; storage?: string; vm?: string };
  /** This host's address on the migration network (where the destination listens). */
  migrationAddress?: string;
}

export interface TestbedSpec {
  kind: 'local' | 'lab';
  /** Host pair label (inventory `pair`); records carry it. Unset for a single-pair testbed file. */
  pair?: string;
  /** `tcg` locally (no usable KVM), `kvm` in a lab. */
  accel: 'tcg' | 'kvm';
  /**
   * How the destination QEMU gets the guest's RAM: `on-demand` (the default: the kernel backs each
   * page when the incoming stream first writes it, as a stock libvirt guest does), or `prealloc`
   * (every page backed when QEMU starts, before the migration). The local testbed preallocates: this
   * VM backs memory lazily, so a first touch costs ~10 µs per page, ten times a bare-metal host's.
   */
  destinationRam?: GuestRamMode;
  /**
   * How the source QEMU gets the guest's RAM, the same two modes (default `on-demand`). QEMU's first
   * migration pass reads every guest page, and a page the guest never touched is faulted in as the
   * zero page by that read: ~15.5 µs a page on this VM (reading a byte of each page of a fresh 1 GiB
   * mapping takes 4.06 s, re-reading it 0.007 s), ~0.2 µs on a bare-metal host. A 1 GiB page-cache
   * guest leaves ~320 MiB untouched, so pass 1 stalled ~1.6 s in the zero-page scan (QMP `duplicate`
   * rising at ~50k pages/s, nothing else moving), stock and pof alike; preallocated, ~0.5 s (a stock
   * run at 300 Mbit/s: 22.0 -> 21.1 s). The local testbed preallocates: the cost is this VM's.
   */
  sourceRam?: GuestRamMode;
  hosts: Record<HostRole, HostSpec>;
  nas: {
    /** NFS server address on the storage network. */
    server: string;
    /** Export path as NFS clients name it (QEMU's libnfs driver: nfs://server/export/...). */
    exportPath: string;
    /** The same directory as a path on the nas host (for copies made over SSH). */
    localPath: string;
    /** Where src/dst mount the export with kernel NFS (lab). Unset: no kernel NFS client (local testbed). */
    hostMountPath?: string;
  };
  vm: {
    /** Guest address on the vm network, CIDR. */
    guestCidr: string;
    /** tap device on src and dst, bridged to the vm network. */
    tap: string;
    mac: string;
  };
  /** Directory visible at the same path on src and dst that holds guest kernels/initrds. */
  guestFilesDir: string;
  /** Directory on src/dst for per-VM sockets, pid files and logs. */
  hostRunDir: string;
  /** Network namespace the controller side (runner, probes, load) must run in, if any. */
  controllerNetns?: string;
  /** How to run the pofbench CLI on src/dst (host-side samplers, agents). */
  hostPofbench: string[];
}

/** How the destination QEMU backs guest RAM (`on-demand` unless the testbed says otherwise). */
export function destinationRamOf(spec: Pick<TestbedSpec, 'destinationRam'>): GuestRamMode {
  return spec.destinationRam ?? 'on-demand';
}

/** How the source QEMU backs guest RAM (`on-demand` unless the testbed says otherwise). */
export function sourceRamOf(spec: Pick<TestbedSpec, 'sourceRam'>): GuestRamMode {
  return spec.sourceRam ?? 'on-demand';
}

export function guestAddress(spec: TestbedSpec): string {
  return spec.vm.guestCidr.split('/')[0];
}

/** Linux interface names (the kernel allows 1-15 bytes without '/', ':' or spaces; we allow fewer). */
export const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
const KEY_RE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,2}( .*)?$/;

/** Why `v` is not an interface name NIC names and taps may have (they reach host commands and QEMU options). */
export function ifNameProblem(v: unknown): string | undefined {
  if (typeof v === 'string' && IFNAME_RE.test(v) && v !== '.' && v !== '..') return undefined;
  return `${JSON.stringify(v)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -, not "." or "..")`;
}

/** Why `v` is not a MAC address (it reaches the QEMU -device option). */
export function macProblem(v: unknown): string | undefined {
  if (typeof v === 'string' && MAC_RE.test(v)) return undefined;
  return `${JSON.stringify(v)} is not a MAC address (52:54:00:xx:xx:xx)`;
}

/** Why `v` is not a pinned host key line (`ssh-ed25519 AAAA...`): an empty key would accept any host. */
export function hostKeyProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') return 'is empty or missing (every host key must be pinned)';
  return KEY_RE.test(v.trim()) ? undefined : 'is not a public key line such as "ssh-ed25519 AAAA..."';
}
