import { BlockIndex, type IndexBuild } from '../codec/blockindex.js';
import { BLOCK, type BlockImage } from './nasImage.js';

/** The oracle index: every block of the image hashed, read in 4 MiB pieces through the agent's NAS access. */
export async function scanImageIndex(image: BlockImage, chunkBlocks = 1024): Promise<IndexBuild> {
  const t0 = performance.now();
  const index = new BlockIndex();
  const buf = Buffer.allocUnsafe(chunkBlocks * BLOCK);
  for (let b = 0; b < image.blocks; b += chunkBlocks) {
    const n = Math.min(chunkBlocks, image.blocks - b);
    index.addBlocks(b, await image.readBlocks(b, n, buf));
  }
  return {
    index,
    imageBlocks: image.blocks,
    indexBlocks: index.size,
    blocksRead: image.blocks,
    buildMs: performance.now() - t0,
  };
}
