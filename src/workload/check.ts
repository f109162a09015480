import type { Scenario } from '../scenario/types.js';
import type { ImageLayout } from '../image/layout.js';
import { UserError } from '../util/errors.js';
import { createWorkload } from './index.js';

/**
 * Every scenario's workload against the guest it gets and the image it boots (dataset vs guest
 * memory, files on the data disk, …), and --verify-ram against workloads that need the guest's
 * NIC. `pofbench run` calls it with the planned image layout before anything starts (image build,
 * testbed, preflight); a refusal names the scenario file and the sweep configuration.
 */
export function checkScenarioWorkloads(
  scenarios: readonly Scenario[],
  image: ImageLayout,
  o: { verifyRam?: boolean } = {},
): void {
  for (const s of scenarios) {
    if (o.verifyRam && s.workload.type === 'web') {
      throw new UserError(
        `scenario ${s.file}: --verify-ram runs guests without a NIC, and the web workload needs one (field ` +
          `"workload.type")`,
        'drop --verify-ram for web scenarios',
      );
    }
    try {
      createWorkload(s.workload).check(image, s.guest.memory_mib);
    } catch (err) {
      // name the configuration: a sweep can make a combination the workload cannot run
      if (err instanceof UserError)
        throw new UserError(
          `scenario ${s.file} (${s.name}${s.config_id ? `, sweep config ${s.config_id}` : ''}): ${err.message}`,
          err.hint,
        );
      throw err;
    }
  }
}
