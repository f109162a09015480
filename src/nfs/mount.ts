/**
 * Finding the server's ports (portmap v2 GETPORT) and mounting an export (MOUNT v3 MNT) for its
 * root file handle. Both use a short-lived connection of their own.
 */
import { RpcConnection } from './rpcConnection.js';
import type { RpcAuth } from './rpcMessage.js';
import {
  IPPROTO_TCP,
  MOUNT_PROG,
  MOUNT_V3,
  MOUNTPROC3_MNT,
  MOUNTPROC3_UMNT,
  NfsError,
  PMAP_PORT,
  PMAP_PROG,
  PMAP_VERS,
  PMAPPROC_GETPORT,
  mnt3StatusName,
  readFh,
} from './nfs3.js';

export interface ServiceOptions {
  host: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  privilegedPort?: boolean;
}

async function withConnection<T>(
  o: ServiceOptions & { port: number; label: string; auth?: RpcAuth },
  fn: (c: RpcConnection) => Promise<T>,
): Promise<T> {
  const c = await RpcConnection.connect({
    host: o.host,
    port: o.port,
    label: o.label,
    auth: o.auth,
    privilegedPort: o.privilegedPort,
    callTimeoutMs: o.timeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
  });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * Asks the portmapper (rpcbind) for the TCP ports of programs; throws naming a program the server
 * has not registered (port 0).
 */
export async function getPorts(
  o: ServiceOptions & { portmapPort?: number },
  programs: { name: string; prog: number; vers: number }[],
): Promise<number[]> {
  const port = o.portmapPort ?? PMAP_PORT;
  return withConnection({ ...o, port, label: 'portmap' }, (c) =>
    Promise.all(
      programs.map(async (p) => {
        const r = await c.call(
          PMAP_PROG,
          PMAP_VERS,
          PMAPPROC_GETPORT,
          (w) => w.u32(p.prog).u32(p.vers).u32(IPPROTO_TCP).u32(0),
          `GETPORT ${p.name} v${p.vers}`,
        );
        const got = r.u32();
        if (got === 0 || got > 65535) {
          throw new Error(`portmap on ${o.host}:${port} has no TCP port for ${p.name} (program ${p.prog} v${p.vers})`);
        }
        return got;
      }),
    ),
  );
}

export interface MountResult {
  rootFh: Buffer;
  /** Security flavors the server accepts for the export (1 = AUTH_SYS). */
  authFlavors: number[];
  /** The local port the MOUNT call came from. */
  localPort?: number;
}

/** MOUNT3 MNT of `exportPath`: the export's root file handle. */
export async function mountExport(
  o: ServiceOptions & { port: number; exportPath: string; auth: RpcAuth },
): Promise<MountResult> {
  return withConnection({ ...o, label: 'MOUNT' }, async (c) => {
    const r = await c.call(
      MOUNT_PROG,
      MOUNT_V3,
      MOUNTPROC3_MNT,
      (w) => w.string(o.exportPath, 1024),
      `MNT ${o.exportPath}`,
    );
    const status = r.u32();
    if (status !== 0) throw new NfsError('MNT', o.exportPath, status, mnt3StatusName(status), c.endpoint);
    const rootFh = readFh(r);
    const n = r.u32();
    const authFlavors: number[] = [];
    for (let i = 0; i < n && i < 64; i++) authFlavors.push(r.u32());
    return { rootFh, authFlavors, localPort: c.localPort };
  });
}

/** MOUNT3 UMNT: tells the server the client no longer uses the export (bookkeeping only). */
export async function unmountExport(
  o: ServiceOptions & { port: number; exportPath: string; auth: RpcAuth },
): Promise<void> {
  await withConnection({ ...o, label: 'MOUNT' }, async (c) => {
    await c.call(MOUNT_PROG, MOUNT_V3, MOUNTPROC3_UMNT, (w) => w.string(o.exportPath, 1024), `UMNT ${o.exportPath}`);
  });
}
