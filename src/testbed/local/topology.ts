/**
 * Address plan of the local namespace testbed (198.18.0.0/15, the benchmarking range).
 * One switch namespace holds a bridge per network; every host namespace has one veth per network
 * it is attached to. Names carry the `pofb-` prefix so `down` can find everything after a crash.
 */
export const NS_PREFIX = 'pofb-';
export const SWITCH_NS = `${NS_PREFIX}net`;

export type NetName = 'mgmt' | 'mig' | 'sto' | 'vm';
export type LocalHost = 'ctl' | 'src' | 'dst' | 'nas';

export const NETWORKS: Record<NetName, { bridge: string; prefix: string; purpose: string }> = {
  mgmt: { bridge: 'brmgmt', prefix: '198.18.0', purpose: 'ssh from the controller' },
  mig: { bridge: 'brmig', prefix: '198.18.1', purpose: 'migration stream src<->dst' },
  sto: { bridge: 'brsto', prefix: '198.18.2', purpose: 'NFS src/dst<->nas' },
  vm: { bridge: 'brvm', prefix: '198.18.3', purpose: 'guest NIC, reached from ctl' },
};

/** Host octet per host; `undefined` = not attached (vm on src/dst is a bridge port without address). */
export const HOSTS: Record<LocalHost, { octet: number; nets: NetName[] }> = {
  ctl: { octet: 1, nets: ['mgmt', 'vm'] },
  src: { octet: 11, nets: ['mgmt', 'mig', 'sto', 'vm'] },
  dst: { octet: 12, nets: ['mgmt', 'mig', 'sto', 'vm'] },
  nas: { octet: 20, nets: ['mgmt', 'sto'] },
};

export const GUEST_CIDR = `${NETWORKS.vm.prefix}.100/24`;
export const GUEST_MAC = '52:54:00:50:4f:46';
export const TAP = 'tap0';
/** In src/dst the vm veth and the tap are joined by this bridge. */
export const HOST_VM_BRIDGE = 'brvm';

export const nsName = (host: LocalHost): string => `${NS_PREFIX}${host}`;
/** NIC name inside a host namespace for a network, e.g. `mig0`. */
export const nicName = (net: NetName): string => `${net}0`;
/** Peer end of a host's veth inside the switch namespace, e.g. `src-mig`. */
export const switchPort = (host: LocalHost, net: NetName): string => `${host}-${net}`;
export const hostAddress = (host: LocalHost, net: NetName): string => `${NETWORKS[net].prefix}.${HOSTS[host].octet}`;
/** Hosts that get an address on a network (src/dst are plain bridge ports on the vm network). */
export const hasAddress = (host: LocalHost, net: NetName): boolean =>
  !(net === 'vm' && (host === 'src' || host === 'dst'));

export const NFS_EXPORT_PSEUDO = '/export';
