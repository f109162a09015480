import { DEFAULT_DATASET_MIB, DEFAULT_SEED, planDataset, validateDatasetParams } from './dataset.js';
import { wantedFreeBytes } from './disk.js';
import { GUEST_DATASET_DIR, type GuestImage } from './build.js';

/** What workloads check of an image: its dataset files and the size of its data disk. */
export type ImageLayout = Pick<GuestImage, 'dataset' | 'dataDiskBytes'>;

const MiB = 1024 * 1024;

/**
 * The layout `buildImage({ datasetMib, seed })` will produce, known without building: the dataset's
 * files (planDataset) and the data disk's size before buildDataDisk's growth step (a lower bound,
 * so a check against it never passes what the built image would refuse for lack of room). Lets
 * `pofbench run` check every workload before the image build, the testbed and the preflight.
 */
export function plannedImageLayout(datasetMib = DEFAULT_DATASET_MIB, seed = DEFAULT_SEED): ImageLayout {
  validateDatasetParams(datasetMib, seed);
  const files = planDataset(datasetMib).map((f) => ({ path: `${GUEST_DATASET_DIR}/${f.name}`, bytes: f.bytes }));
  const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
  const disk = totalBytes + wantedFreeBytes(totalBytes) + Math.ceil(totalBytes * 0.03) + 16 * MiB;
  return { dataset: { seed, totalBytes, files }, dataDiskBytes: Math.ceil(disk / MiB) * MiB };
}
