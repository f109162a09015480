import type { SshHost } from '../hosts/ssh.js';

/** The SSH connections to one host pair and its NAS. */
export interface TestbedHosts {
  src: SshHost;
  dst: SshHost;
  nas: SshHost;
}
