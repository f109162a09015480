import { sh, type SshHost } from '../hosts/ssh.js';

/**
 * Caps the migration link with `tc tbf` on each given host's migration NIC (0 = uncapped: removes a
 * cap). Returns a function that removes the caps again; a cap set on one host is not left behind
 * when setting the other fails.
 */
export async function capMigrationLink(
  nics: [SshHost, string | undefined][],
  capMbit: number,
): Promise<() => Promise<void>> {
  const undo: (() => Promise<void>)[] = [];
  const undoAll = async () => {
    for (const u of undo) await u().catch(() => undefined);
  };
  try {
    for (const [h, nic] of nics) {
      if (!nic) continue;
      if (capMbit > 0) {
        const burst = Math.max(64 * 1024, Math.round((capMbit * 1e6) / 8 / 100));
        await h.exec(
          sh([
            'tc',
            'qdisc',
            'replace',
            'dev',
            nic,
            'root',
            'tbf',
            'rate',
            `${capMbit}mbit`,
            'burst',
            burst,
            'latency',
            '50ms',
          ]),
        );
      } else {
        await h.exec(sh(['tc', 'qdisc', 'del', 'dev', nic, 'root']), { allowFail: true });
      }
      undo.push(() =>
        h.exec(sh(['tc', 'qdisc', 'del', 'dev', nic, 'root']), { allowFail: true }).then(() => undefined),
      );
    }
  } catch (err) {
    await undoAll();
    throw err;
  }
  return undoAll;
}
