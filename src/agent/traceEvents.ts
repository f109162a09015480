/** One guest block request from QEMU's trace log (`-trace enable=blk_co_p*`: one -trace takes one pattern). */
export interface BlockTraceEvent { op: 'read' | 'write'; offset: number; bytes: number }

// QEMU 7.2 "log" trace backend, e.g.
//   blk_co_preadv blk 0x5650c89cb3d0 bs 0x5650c89cdae0 offset 4096 bytes 8192 flags 0x0
// optionally prefixed with "PID@SECONDS.MICROS:" when -msg timestamp=on is set.
const LINE = /(?:^|:)blk_co_(preadv|pwritev) blk 0x[0-9a-f]+ bs 0x[0-9a-f]+ offset (\d+) bytes (\d+)/;

export function parseTraceLine(line: string): BlockTraceEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const offset = Number(m[2]);
  const bytes = Number(m[3]);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(bytes) || bytes <= 0) return undefined;
  return { op: m[1] === 'preadv' ? 'read' : 'write', offset, bytes };
}
