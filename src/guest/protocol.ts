/**
 * Wire format of the guest control channel (see scripts.ts for the guest side). Line based:
 *   host → guest: `ping` | `<id> <base64 script>`   (each preceded by an empty line, which the agent
 *                 skips: it flushes any half line left in the guest's input by an earlier writer)
 *   guest → host: `@@READY` | `@@RESULT <id> <rc> <base64 output>`
 * Everything else on the line from the guest (kernel noise, tty echo before the agent set raw mode)
 * is garbage and is reported as such, never as an error.
 */

export const EXEC_ID_RE = /^[A-Za-z0-9_-]+$/;

export function encodePing(): string {
  return '\nping\n';
}

export function encodeExec(id: string, script: string): string {
  if (!EXEC_ID_RE.test(id)) throw new Error(`invalid guest command id ${JSON.stringify(id)}`);
  return `\n${id} ${Buffer.from(script, 'utf8').toString('base64')}\n`;
}

export type GuestMessage =
  | { kind: 'ready' }
  | { kind: 'result'; id: string; rc: number; output: Buffer }
  | { kind: 'garbage'; line: string };

// the output field is empty for no output (the guest prints `@@RESULT id rc ` and we trim the line)
const RESULT_RE = /@@RESULT ([A-Za-z0-9_-]+) (\d{1,3})(?: ([A-Za-z0-9+/]*={0,2}))?$/;

/** Parses one line (without its newline) from the guest. */
export function parseGuestLine(raw: string): GuestMessage {
  const line = raw.replace(/[\r\s]+$/, '');
  if (line.endsWith('@@READY')) return { kind: 'ready' };
  const m = RESULT_RE.exec(line);
  const b64 = m?.[3] ?? '';
  if (m && b64.length % 4 === 0 && Number(m[2]) <= 255) {
    return { kind: 'result', id: m[1], rc: Number(m[2]), output: Buffer.from(b64, 'base64') };
  }
  return { kind: 'garbage', line: raw.length > 200 ? `${raw.slice(0, 200)}…` : raw };
}

/**
 * Splits a byte stream into lines and parses them. Lines longer than `maxLineBytes` are dropped
 * (reported as garbage) so a runaway sender cannot exhaust memory.
 */
export class GuestLineParser {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private overflow = false;

  constructor(
    private readonly onMessage: (msg: GuestMessage) => void,
    private readonly maxLineBytes = 256 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, nl));
      start = nl + 1;
      this.flushLine();
    }
  }

  private append(b: Buffer): void {
    if (b.length === 0 || this.overflow) return;
    if (this.partBytes + b.length > this.maxLineBytes) {
      this.overflow = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    this.parts.push(b);
    this.partBytes += b.length;
  }

  private flushLine(): void {
    if (this.overflow) {
      this.overflow = false;
      this.onMessage({ kind: 'garbage', line: `<line longer than ${this.maxLineBytes} bytes dropped>` });
      return;
    }
    const line = (this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)).toString('latin1');
    this.parts = [];
    this.partBytes = 0;
    if (line.length === 0 || line === '\r') return;
    this.onMessage(parseGuestLine(line));
  }
}
