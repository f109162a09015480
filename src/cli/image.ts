import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { buildImage, imageManifestPath, loadImage, type GuestImage } from '../image/build.js';
import { DEFAULT_DATASET_MIB, DEFAULT_SEED } from '../image/dataset.js';
import { UserError } from '../util/errors.js';

const MiB = 1024 * 1024;

export function parseDatasetMib(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    throw new UserError(
      `invalid --dataset-mib ${JSON.stringify(v)}`,
      'give a whole number of MiB, e.g. --dataset-mib 640',
    );
  }
  return n;
}

async function describe(img: GuestImage): Promise<string[]> {
  const size = async (p: string): Promise<string> => `${((await stat(p)).size / MiB).toFixed(1)} MiB`;
  const nFiles = img.dataset.files.length;
  return [
    `image    ${img.id}`,
    `dir      ${img.dir}`,
    `kernel   ${img.kernel} (${img.kernelVersion}, ${await size(img.kernel)})`,
    `initrd   ${img.initrd} (${await size(img.initrd)})`,
    `data     ${img.dataDisk} (${(img.dataDiskBytes / MiB).toFixed(0)} MiB raw ext4)`,
    `dataset  ${nFiles} files, ${(img.dataset.totalBytes / MiB).toFixed(0)} MiB, seed ` +
      `${JSON.stringify(img.dataset.seed)} (manifest ${imageManifestPath(img)})`,
    `built    ${img.builtAt}`,
  ];
}

/** `pofbench image ...` */
export function registerImageCommand(program: Command): void {
  const image = program
    .command('image')
    .description('build or inspect the guest image (kernel, initramfs, data disk with dataset)');

  image
    .command('build')
    .description('build the guest image, or reuse the cached one if its inputs did not change')
    .option('--dataset-mib <n>', 'dataset size in MiB', parseDatasetMib, DEFAULT_DATASET_MIB)
    .option('--seed <s>', 'dataset seed', DEFAULT_SEED)
    .option('--force', 'rebuild everything even if cached', false)
    .option('--quiet', 'no build progress, only the result')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(async (o: { datasetMib: number; seed: string; force: boolean; quiet?: boolean }) => {
      const t0 = Date.now();
      const before = o.force ? undefined : await loadImage({ datasetMib: o.datasetMib, seed: o.seed });
      const img =
        before ??
        (await buildImage({
          datasetMib: o.datasetMib,
          seed: o.seed,
          force: o.force,
          log: (l) => {
            if (!o.quiet) console.log(`  ${l}`);
          },
        }));
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(before ? `reused cached image (${secs} s):` : `built image in ${secs} s:`);
      for (const l of await describe(img)) console.log(`  ${l}`);
    });

  image
    .command('info')
    .description('show the cached guest image for these options')
    .option('--dataset-mib <n>', 'dataset size in MiB', parseDatasetMib, DEFAULT_DATASET_MIB)
    .option('--seed <s>', 'dataset seed', DEFAULT_SEED)
    .option('--json', 'print the image manifest as JSON', false)
    .action(async (o: { datasetMib: number; seed: string; json: boolean }) => {
      const img = await loadImage({ datasetMib: o.datasetMib, seed: o.seed });
      if (!img) {
        const args =
          `${o.datasetMib !== DEFAULT_DATASET_MIB ? ` --dataset-mib ${o.datasetMib}` : ''}` +
          `${o.seed !== DEFAULT_SEED ? ` --seed ${JSON.stringify(o.seed)}` : ''}`;
        throw new UserError(
          'no guest image built for these inputs (or it is out of date)',
          `run "pofbench image build${args}"`,
        );
      }
      if (o.json) console.log(JSON.stringify(img, null, 2));
      else for (const l of await describe(img)) console.log(l);
    });
}
