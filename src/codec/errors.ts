/**
 * Errors of the POF codec. Every error raised by the pure core is a `CodecError` carrying the byte
 * offset (in the stream being parsed) where the problem was found; its message names the offset too.
 */
export class CodecError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly stream: 'qemu' | 'pof' = 'qemu',
  ) {
    super(`${stream === 'qemu' ? 'QEMU migration stream' : 'POF stream'}: ${message} (at byte offset ${offset})`);
    this.name = 'CodecError';
  }
}

/** A valid QEMU stream that uses a feature the pof strategy cannot carry (multifd, xbzrle, compression…). */
export class UnsupportedStreamError extends CodecError {
  constructor(message: string, offset: number) {
    super(message, offset, 'qemu');
    this.name = 'UnsupportedStreamError';
  }
}

/** The content of a NAS block read for a reference does not match the reference's hash. */
export class RefMismatchError extends Error {
  constructor(
    readonly block: number,
    readonly expected: Buffer,
    readonly actual: Buffer | undefined,
    detail?: string,
  ) {
    super(
      detail ??
        `NAS block ${block} does not match its reference: expected SHA-256 ` +
          `${expected.toString('hex').slice(0, 16)}…, ` +
          `got ${actual ? `${actual.toString('hex').slice(0, 16)}…` : 'nothing'}`,
    );
    this.name = 'RefMismatchError';
  }
}
