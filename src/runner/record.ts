/** Moved to src/results/record.ts (kept so imports of the old path still compile). */
export type * from '../results/record.js';
