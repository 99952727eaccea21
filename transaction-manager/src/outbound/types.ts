/** The contract every outbound client keeps, whatever its protocol (sftp.ts, ftp.ts, http.ts, as2.ts). */

export interface RemoteEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  mtime: Date | null;
}

export interface MoveOptions {
  /** Aborting cuts the transfer at once and closes the connection (the client is unusable afterwards). */
  signal: AbortSignal;
  /** Called as bytes go out or come in (bytes so far, never decreasing). */
  onProgress(bytesSoFar: number): void;
  /**
   * AS2 only: the Message-ID to send with. A job passes the same one on every attempt, so a partner
   * that received an earlier attempt stores it once. Default: a new one.
   */
  messageId?: string;
}

export interface OutboundClient {
  /**
   * Uploads localFile to remotePath (relative to the site's path) atomically: to a temporary name,
   * then renamed over the final one, so a cut push never leaves a truncated file under the final
   * name and a re-run of the same push replaces it (idempotent). Resolves bytes sent.
   */
  push(localFile: string, remotePath: string, opts: MoveOptions): Promise<{ bytes: number }>;
  /** Downloads remotePath into localFile (which the caller owns: a partial path it renames itself). */
  pull(remotePath: string, localFile: string, opts: MoveOptions): Promise<{ bytes: number }>;
  list(remoteDir: string): Promise<RemoteEntry[]>;
  remove(remotePath: string): Promise<void>;
  /** Closes the connection politely; never throws; a second call is a no-op. */
  close(): Promise<void>;
}
