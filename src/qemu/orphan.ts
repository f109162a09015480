import type { RemoteVm } from './vm.js';

/**
 * The source handed the guest over (`postmigrate`) but the destination does not run it (it died
 * or failed after the stream, e.g. reopening its disk): stop the destination and resume the guest
 * on the source, as a management layer would. Never resumes when the destination runs the guest.
 */
export async function resumeSourceIfOrphaned(src: RemoteVm, dst: RemoteVm | undefined): Promise<boolean> {
  const s = await src.status();
  if (s !== 'postmigrate') return false;
  const d = dst ? await dst.status().catch(() => 'gone') : 'gone';
  if (d === 'running') return false;
  await dst?.stop();
  await src.qmp.execute('cont');
  return true;
}
