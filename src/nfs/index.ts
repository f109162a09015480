/** NFSv3 read client over ONC-RPC/TCP (see client.ts). Imports nothing from the rest of pofbench. */
export {
  NfsClient,
  NfsFile,
  DEFAULT_MAX_READ,
  MAX_READ_LIMIT,
  type NfsConnectOptions,
  type NfsClientInfo,
} from './client.js';
export { NfsError, type Fattr3, type FsInfo, type ReadResult } from './nfs3.js';
export { RpcConnection, RpcConnectionError, RpcTimeoutError, type RpcConnectOptions } from './rpcConnection.js';
export { RpcError, authSys, authNone, type RpcAuth } from './rpcMessage.js';
export { getPorts, mountExport, unmountExport } from './mount.js';
export { RecordParser } from './record.js';
export { XdrReader, XdrWriter, XdrError } from './xdr.js';
