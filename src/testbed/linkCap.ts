import { sh, type SshHost } from '../hosts/ssh.js';
import { sleep } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';

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
  // every host's cap is removed even when another host's removal failed; the first failure is reported
  const undoAll = async () => {
    const failed: unknown[] = [];
    for (const u of undo) await u().catch((err) => failed.push(err));
    if (failed.length) throw failed[0];
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
        await h.exec(tcDel(nic), { allowFail: true });
      }
      undo.push(() => removeCap(h, nic));
    }
  } catch (err) {
    await undoAll().catch(() => undefined);
    throw err;
  }
  return undoAll;
}

/** The command that removes a NIC's cap (exit non-zero when there is none). */
const tcDel = (nic: string): string => sh(['tc', 'qdisc', 'del', 'dev', nic, 'root']);

/** Removes a cap (none there: fine); a failed command (e.g. the host's connection was being re-dialled) is tried again once. */
async function removeCap(h: SshHost, nic: string): Promise<void> {
  const del = () => h.exec(tcDel(nic), { allowFail: true, timeoutMs: 15000 });
  try {
    await del();
  } catch {
    await sleep(500);
    await del().catch((err: unknown) => {
      throw new Error(`${h.name}: link cap on ${nic} not removed: ${errorMessage(err)}`);
    });
  }
}
