/** nfs-ganesha's configuration for one VFS export served over NFSv3 and v4 (settings: DESIGN.md §8). */
export interface GaneshaConfigOptions {
  /** The address ganesha listens on. */
  bindAddr: string;
  /** The exported directory. */
  exportPath: string;
  /** The export's path as clients name it (MOUNT for NFSv3, the pseudo fs for v4). */
  pseudo: string;
  /** Where NFSv4 keeps its recovery state. */
  recoveryRoot: string;
  logLevel?: string;
}

export function ganeshaConfig(o: GaneshaConfigOptions): string {
  return `NFS_CORE_PARAM {
  Protocols = 3, 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Bind_Addr = ${o.bindAddr};
  mount_path_pseudo = true;
}
NFSv4 {
  RecoveryBackend = fs;
  RecoveryRoot = ${o.recoveryRoot};
  Graceless = true;
  Only_Numeric_Owners = true;
}
EXPORT_DEFAULTS { Access_Type = RW; }
EXPORT {
  Export_Id = 1;
  Path = ${o.exportPath};
  Pseudo = ${o.pseudo};
  Protocols = 3, 4;
  Transports = TCP;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = ${o.logLevel ?? 'WARN'}; }
`;
}
