/** Leftover checks for tests: the same ones `pofbench faults` uses (src/faults/leftovers.ts). */
export {
  allPofbenchProcesses as pofbenchProcesses,
  pofbenchNamespaces,
  runLeftovers,
} from '../../src/faults/leftovers.js';
