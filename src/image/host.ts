import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { run } from '../util/exec.js';

/**
 * What the guest image is made of on this host: the cloud kernel, its virtio modules, busybox,
 * stress-ng, sysbench and their shared libraries, plus the versions of the Debian packages that
 * provide them (part of the image's input hash).
 */
export interface HostInputs {
  kernelPath: string;
  kernelVersion: string;
  kernelSha256: string;
  kernelBytes: number;
  modulesDir: string;
  /** Module files relative to modulesDir, in load order (built-in modules are left out). */
  modules: string[];
  busybox: string;
  /** Dynamically linked programs copied into the guest at the same path. */
  programs: string[];
  /** Shared libraries and the dynamic loader, as ldd names them (the guest path). */
  libraries: string[];
  /** Debian package -> version, for everything above. */
  packages: Record<string, string>;
}

/** Load order of the virtio modules (each one's dependencies come before it). */
export const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'virtio_blk',
  'failover',
  'net_failover',
  'virtio_net',
] as const;

/** Debian packages the builder needs on the host (program or file -> package). */
const REQUIRED_PACKAGES = ['busybox-static', 'stress-ng', 'sysbench', 'e2fsprogs'] as const;
const GUEST_PROGRAMS = ['/usr/bin/stress-ng', '/usr/bin/sysbench'];
const BUSYBOX = '/bin/busybox';
const KERNEL_PACKAGE = 'linux-image-cloud-amd64';

export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Versions of installed packages; missing ones are left out. */
export async function dpkgVersions(pkgs: string[]): Promise<Record<string, string>> {
  if (pkgs.length === 0) return {};
  const r = await run('dpkg-query', ['-W', '-f=${Package}\t${Version}\t${db:Status-Status}\n', ...pkgs], {
    allowFail: true,
  });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && version && status === 'installed') out[name] = version;
  }
  return out;
}

export async function requirePackages(pkgs: readonly string[]): Promise<Record<string, string>> {
  const have = await dpkgVersions([...pkgs]);
  const missing = pkgs.filter((p) => !(p in have));
  if (missing.length) {
    throw new UserError(
      `missing Debian package${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (needed to build the guest image)`,
      `run "apt-get install -y ${missing.join(' ')}"`,
    );
  }
  return have;
}

/** Newest installed cloud kernel, `/boot/vmlinuz-<version>` with `<version>` ending in -cloud-amd64. */
export async function findCloudKernel(): Promise<{ path: string; version: string }> {
  const names = (await readdir('/boot').catch(() => [] as string[]))
    .filter((n) => /^vmlinuz-.+-cloud-amd64$/.test(n))
    .map((n) => n.slice('vmlinuz-'.length))
    .sort(compareVersions);
  const version = names.at(-1);
  if (!version) {
    throw new UserError(
      'no cloud kernel found (/boot/vmlinuz-*-cloud-amd64)',
      `run "apt-get install -y ${KERNEL_PACKAGE}"`,
    );
  }
  try {
    await access(join('/lib/modules', version, 'modules.dep'));
  } catch {
    throw new UserError(
      `kernel ${version} has no /lib/modules/${version}/modules.dep`,
      `reinstall it: "apt-get install --reinstall -y linux-image-${version}"`,
    );
  }
  return { path: `/boot/vmlinuz-${version}`, version };
}

const normName = (n: string): string => n.replace(/-/g, '_');
const modName = (rel: string): string =>
  normName(
    rel
      .split('/')
      .at(-1)!
      .replace(/\.ko(\.(xz|zst|gz))?$/, ''),
  );

/** Resolves the module names to files via modules.dep, checking that the order satisfies dependencies. */
export async function resolveModules(modulesDir: string, names: readonly string[]): Promise<string[]> {
  const dep = await readFile(join(modulesDir, 'modules.dep'), 'utf8');
  const builtin = new Set(
    (await readFile(join(modulesDir, 'modules.builtin'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map(modName),
  );
  const byName = new Map<string, { rel: string; deps: string[] }>();
  for (const line of dep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const rel = line.slice(0, i);
    byName.set(modName(rel), {
      rel,
      deps: line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(modName),
    });
  }
  const loaded = new Set<string>();
  const out: string[] = [];
  for (const raw of names) {
    const name = normName(raw);
    if (builtin.has(name)) {
      loaded.add(name);
      continue;
    }
    const m = byName.get(name);
    if (!m)
      throw new UserError(
        `kernel module ${raw} not found in ${modulesDir}/modules.dep`,
        'the guest needs a kernel with virtio modules (linux-image-cloud-amd64)',
      );
    const missing = m.deps.filter((d) => !loaded.has(d) && !builtin.has(d));
    if (missing.length)
      throw new Error(`module ${raw} needs ${missing.join(', ')} loaded first (fix GUEST_MODULES order)`);
    loaded.add(name);
    out.push(m.rel);
  }
  return out;
}

/** Shared libraries (and the loader) of `programs`, as ldd reports them. */
export async function sharedLibraries(programs: string[]): Promise<string[]> {
  const r = await run('ldd', programs);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const t = line.trim();
    if (!t || t.endsWith(':')) continue;
    if (/=>\s*not found/.test(t))
      throw new UserError(
        `a guest program needs a library that is not installed: ${t}`,
        'reinstall stress-ng and sysbench ("apt-get install --reinstall -y stress-ng sysbench")',
      );
    const m = /=>\s*(\/\S+)/.exec(t) ?? /^(\/\S+)\s+\(/.exec(t);
    if (m) libs.add(m[1]);
  }
  return [...libs].sort();
}

/** Owning package of each path (tries the /usr-merged spellings too); paths nobody owns are left out. */
async function owners(paths: string[]): Promise<Set<string>> {
  const candidates = new Set<string>();
  for (const p of paths) {
    candidates.add(p);
    candidates.add(await realpath(p).catch(() => p));
    if (p.startsWith('/usr/')) candidates.add(p.slice(4));
    else candidates.add(`/usr${p}`);
  }
  const r = await run('dpkg-query', ['-S', ...candidates], { allowFail: true });
  const pkgs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([^:\s,]+)(?::[a-z0-9]+)?(?:, [^:]+)?: \//.exec(line);
    if (m) pkgs.add(m[1]);
  }
  return pkgs;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function inspectHost(): Promise<HostInputs> {
  const base = await requirePackages(REQUIRED_PACKAGES);
  const kernel = await findCloudKernel();
  const modulesDir = join('/lib/modules', kernel.version);
  const [modules, libraries, kernelSha256, kstat] = await Promise.all([
    resolveModules(modulesDir, GUEST_MODULES),
    sharedLibraries(GUEST_PROGRAMS),
    sha256File(kernel.path),
    stat(kernel.path),
  ]);
  const ownerPkgs = await owners([kernel.path, ...libraries]);
  const packages = { ...base, ...(await dpkgVersions([...ownerPkgs, KERNEL_PACKAGE])) };
  const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  return {
    kernelPath: kernel.path,
    kernelVersion: kernel.version,
    kernelSha256,
    kernelBytes: kstat.size,
    modulesDir,
    modules,
    busybox: BUSYBOX,
    programs: GUEST_PROGRAMS,
    libraries,
    packages: sorted,
  };
}
