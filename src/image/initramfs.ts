import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { run } from '../util/exec.js';
import {
  GUEST_AGENT,
  GUEST_AGENT_PATH,
  GUEST_GROUP,
  GUEST_HOSTS,
  GUEST_INITTAB,
  GUEST_MODULE_LIST,
  GUEST_PASSWD,
  GUEST_RCS,
  GUEST_RCS_PATH,
  GUEST_RUN,
  GUEST_RUN_PATH,
} from '../guest/scripts.js';
import type { HostInputs } from './host.js';

/**
 * The guest initramfs: a gzip'd (level 1) cpio "newc" archive written directly (no staging tree,
 * no mknod needed for /dev/console, identical bytes for identical inputs: all mtimes 0, uid/gid 0).
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; source: string }
  | { type: 'data'; path: string; mode?: number; data: string | Buffer }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function header(f: {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rmaj?: number;
  rmin?: number;
  name: string;
}): Buffer {
  const name = Buffer.from(`${f.name}\0`, 'utf8');
  const fields = [f.ino, f.mode, 0, 0, f.nlink, 0, f.size, 0, 0, f.rmaj ?? 0, f.rmin ?? 0, name.length, 0];
  const h = Buffer.from(`070701${fields.map(hex8).join('')}`, 'latin1');
  return Buffer.concat([h, name, pad4(h.length + name.length)]);
}

/** Adds every missing parent directory and sorts, so parents always precede their children. */
export function completeTree(entries: CpioEntry[]): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const p = e.path.replace(/^\/+/, '');
    byPath.set(p, { ...e, path: p });
  }
  for (const p of [...byPath.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!byPath.has(d)) byPath.set(d, { type: 'dir', path: d });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function* archive(entries: CpioEntry[], stats: { bytes: number }): AsyncGenerator<Buffer> {
  let ino = 1;
  const emit = (b: Buffer): Buffer => {
    stats.bytes += b.length;
    return b;
  };
  for (const e of completeTree(entries)) {
    switch (e.type) {
      case 'dir':
        yield emit(header({ ino: ino++, mode: S_IFDIR | (e.mode ?? 0o755), nlink: 2, size: 0, name: e.path }));
        break;
      case 'char':
        yield emit(
          header({ ino: ino++, mode: S_IFCHR | e.mode, nlink: 1, size: 0, rmaj: e.major, rmin: e.minor, name: e.path }),
        );
        break;
      case 'symlink': {
        const t = Buffer.from(e.target, 'utf8');
        yield emit(header({ ino: ino++, mode: S_IFLNK | 0o777, nlink: 1, size: t.length, name: e.path }));
        yield emit(Buffer.concat([t, pad4(t.length)]));
        break;
      }
      case 'file':
      case 'data': {
        const data = e.type === 'file' ? await readFile(e.source) : Buffer.from(e.data);
        yield emit(
          header({ ino: ino++, mode: S_IFREG | (e.mode ?? 0o644), nlink: 1, size: data.length, name: e.path }),
        );
        yield emit(data);
        yield emit(pad4(data.length));
        break;
      }
    }
  }
  yield emit(header({ ino: 0, mode: 0, nlink: 1, size: 0, name: 'TRAILER!!!' }));
}

/** Writes the archive gzip'd to `outFile`; returns the uncompressed size and entry count. */
export async function writeCpioGz(
  entries: CpioEntry[],
  outFile: string,
): Promise<{ cpioBytes: number; entries: number }> {
  const stats = { bytes: 0 };
  await pipeline(
    Readable.from(archive(entries, stats)),
    createGzip({ level: 1 }),
    createWriteStream(outFile, { mode: 0o644 }),
  );
  return { cpioBytes: stats.bytes, entries: completeTree(entries).length };
}

async function moduleContent(path: string): Promise<{ source?: string; data?: Buffer }> {
  if (path.endsWith('.ko')) return { source: path };
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dc'] : ['gzip', '-dc'];
  const r = await execa(tool[0], [...tool.slice(1), path], { encoding: 'buffer' });
  return { data: Buffer.from(r.stdout) };
}

/** Everything that goes into the guest initramfs. */
export async function initramfsEntries(host: HostInputs): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [];
  for (const d of ['proc', 'sys', 'dev', 'dev/pts', 'run', 'root', 'data', 'mnt', 'var', 'etc/pof'])
    entries.push({ type: 'dir', path: d });
  entries.push({ type: 'dir', path: 'tmp', mode: 0o1777 });
  entries.push({ type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 });
  entries.push({ type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 });

  // busybox and its applets
  entries.push({ type: 'file', path: 'bin/busybox', mode: 0o755, source: host.busybox });
  const applets = (await run(host.busybox, ['--list-full'])).stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of applets) if (a !== 'bin/busybox') entries.push({ type: 'symlink', path: a, target: '/bin/busybox' });
  entries.push({ type: 'symlink', path: 'init', target: '/bin/busybox' });

  for (const p of host.programs) entries.push({ type: 'file', path: p, mode: 0o755, source: p });
  for (const l of host.libraries) entries.push({ type: 'file', path: l, mode: 0o755, source: l });

  const modList: string[] = [];
  for (const rel of host.modules) {
    const src = `${host.modulesDir}/${rel}`;
    const guestRel = rel.replace(/\.(xz|zst|gz)$/, '');
    const c = await moduleContent(src);
    const path = `lib/modules/${host.kernelVersion}/${guestRel}`;
    entries.push(c.source ? { type: 'file', path, source: c.source } : { type: 'data', path, data: c.data! });
    modList.push(guestRel);
  }

  entries.push({ type: 'data', path: GUEST_MODULE_LIST, data: `${modList.join('\n')}\n` });
  entries.push({ type: 'data', path: 'etc/inittab', data: GUEST_INITTAB });
  entries.push({ type: 'data', path: GUEST_RCS_PATH, mode: 0o755, data: GUEST_RCS });
  entries.push({ type: 'data', path: GUEST_AGENT_PATH, mode: 0o755, data: GUEST_AGENT });
  entries.push({ type: 'data', path: GUEST_RUN_PATH, mode: 0o755, data: GUEST_RUN });
  entries.push({ type: 'data', path: 'etc/passwd', data: GUEST_PASSWD });
  entries.push({ type: 'data', path: 'etc/group', data: GUEST_GROUP });
  entries.push({ type: 'data', path: 'etc/hosts', data: GUEST_HOSTS });
  entries.push({ type: 'data', path: 'etc/hostname', data: 'pofguest\n' });
  return entries;
}
