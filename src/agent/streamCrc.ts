/**
 * The END frame's CRC-32 covers the whole QEMU stream: the target checks it over exactly what the
 * destination QEMU was handed (`got`, taken slab by slab as they are written).
 */
export function checkStreamCrc(want: number | undefined, got: number, bytes: number): void {
  if (want !== undefined && want !== got >>> 0) {
    throw new Error(
      `the stream handed to the destination QEMU has CRC-32 ${got >>> 0}, the source's END ` +
        `frame says ${want} (${bytes} bytes)`,
    );
  }
}
