/**
 * Address plan of the local namespace testbed (198.18.0.0/15, the benchmarking range).
 * One switch namespace holds a bridge per network; every host namespace has one veth per network
 * it is attached to. Names carry the `pofb-` prefix so `down` can find everything after a crash.
 *
 * Host pairs: pair 1 is `src`/`dst` (namespaces `pofb-src`/`pofb-dst`, host octets 11/12), pair k > 1
 * is `srcK`/`dstK` (octets 10k+1/10k+2). Every pair sits on the same four bridges and shares the one
 * NAS and the controller; each pair's guest has its own address (198.18.3.(99+k)) and MAC.
 */
export const NS_PREFIX = 'pofb-';
export const SWITCH_NS = `${NS_PREFIX}net`;

export type NetName = 'mgmt' | 'mig' | 'sto' | 'vm';
export type PairRole = 'src' | 'dst';
/** One side of a host pair: `src`/`dst` for pair 1, `src2`/`dst2` for pair 2, ... */
export type PairHost = PairRole | `${PairRole}${number}`;
export type LocalHost = 'ctl' | 'nas' | PairHost;

/** Most pairs the address plan holds (host octets up to 82, guests .100-.107). */
export const MAX_PAIRS = 8;

export const NETWORKS: Record<NetName, { bridge: string; prefix: string; purpose: string }> = {
  mgmt: { bridge: 'brmgmt', prefix: '198.18.0', purpose: 'ssh from the controller' },
  mig: { bridge: 'brmig', prefix: '198.18.1', purpose: 'migration stream src<->dst' },
  sto: { bridge: 'brsto', prefix: '198.18.2', purpose: 'NFS src/dst<->nas' },
  vm: { bridge: 'brvm', prefix: '198.18.3', purpose: 'guest NIC, reached from ctl' },
};

const CTL_OCTET = 1;
const NAS_OCTET = 20;
const PAIR_NETS: NetName[] = ['mgmt', 'mig', 'sto', 'vm'];

export const TAP = 'tap0';
/** In src/dst the vm veth and the tap are joined by this bridge. */
export const HOST_VM_BRIDGE = 'brvm';
export const NFS_EXPORT_PSEUDO = '/export';

function checkPair(pair: number): number {
  if (!Number.isInteger(pair) || pair < 1 || pair > MAX_PAIRS)
    throw new Error(`host pair ${pair}: the local testbed has pairs 1..${MAX_PAIRS}`);
  return pair;
}

/** The host of `role` in pair `pair` (1-based): `src`, `dst`, `src2`, `dst2`, ... */
export const pairHost = (role: PairRole, pair: number): PairHost => (checkPair(pair) === 1 ? role : `${role}${pair}`);

/** `src2` → { role: 'src', pair: 2 }; undefined for ctl, nas and anything else. */
export function parsePairHost(host: string): { role: PairRole; pair: number } | undefined {
  const m = /^(src|dst)([2-9]\d*)?$/.exec(host);
  if (!m) return undefined;
  const pair = m[2] ? Number(m[2]) : 1;
  return pair <= MAX_PAIRS ? { role: m[1] as PairRole, pair } : undefined;
}

/** Every host of a testbed with `pairs` pairs: the controller, the NAS, then each pair's src and dst. */
export function localHosts(pairs: number): LocalHost[] {
  checkPair(pairs);
  const hosts: LocalHost[] = ['ctl', 'nas'];
  for (let k = 1; k <= pairs; k++) hosts.push(pairHost('src', k), pairHost('dst', k));
  return hosts;
}

/** The networks a host is attached to. */
export function hostNets(host: LocalHost): NetName[] {
  if (host === 'ctl') return ['mgmt', 'vm'];
  if (host === 'nas') return ['mgmt', 'sto'];
  return PAIR_NETS;
}

function hostOctet(host: LocalHost): number {
  if (host === 'ctl') return CTL_OCTET;
  if (host === 'nas') return NAS_OCTET;
  const p = parsePairHost(host);
  if (!p) throw new Error(`not a local testbed host: ${host}`);
  return 10 * p.pair + (p.role === 'src' ? 1 : 2);
}

/** Label of pair k in records and inventories: `local`, `local2`, ... */
export const pairLabel = (pair: number): string => (checkPair(pair) === 1 ? 'local' : `local${pair}`);
/** Pair k's guest on the vm network: 198.18.3.100/24 for pair 1, .101 for pair 2, ... */
export const guestCidr = (pair: number): string => `${NETWORKS.vm.prefix}.${99 + checkPair(pair)}/24`;
/** Pair k's guest MAC: 52:54:00:50:4f:46 for pair 1, ...:47 for pair 2, ... */
export const guestMac = (pair: number): string => `52:54:00:50:4f:${(0x45 + checkPair(pair)).toString(16)}`;

export const GUEST_CIDR = guestCidr(1);
export const GUEST_MAC = guestMac(1);

export const nsName = (host: LocalHost): string => `${NS_PREFIX}${host}`;
/** NIC name inside a host namespace for a network, e.g. `mig0`. */
export const nicName = (net: NetName): string => `${net}0`;
/** Peer end of a host's veth inside the switch namespace, e.g. `src-mig`, `dst2-sto`. */
export const switchPort = (host: LocalHost, net: NetName): string => `${host}-${net}`;
export const hostAddress = (host: LocalHost, net: NetName): string => `${NETWORKS[net].prefix}.${hostOctet(host)}`;
/** Hosts that get an address on a network (src/dst are plain bridge ports on the vm network). */
export const hasAddress = (host: LocalHost, net: NetName): boolean => !(net === 'vm' && parsePairHost(host));

/** How many pairs are up, judged by their namespaces (pair k counts when pairs 1..k all have both). */
export function pairsPresent(namespaces: readonly string[]): number {
  let k = 0;
  while (
    k < MAX_PAIRS &&
    namespaces.includes(nsName(pairHost('src', k + 1))) &&
    namespaces.includes(nsName(pairHost('dst', k + 1)))
  )
    k++;
  return k;
}
