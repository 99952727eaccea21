import { access, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { loadConfig, type AnySection } from '@ferry/core';

/** What the supervisor writes to `<dataDir>/node.json` while it runs. */
export interface NodeFile {
  pid: number;
  adminUrl: string;
  startedAt: string;
}

export const NODE_FILE = 'node.json';
export const TOKEN_FILE = 'admin.token';
export const DEFAULT_CONFIG_FILE = 'ferry.yaml';

/** Must match the admin section's defaults; used when the sections passed in have no `admin`. */
const DEFAULT_ADMIN = { port: 9090, host: '127.0.0.1' };

export interface NodeLocation {
  adminUrl: string;
  /** Undefined when the token file is missing or unreadable; `tokenProblem` says why. */
  token: string | undefined;
  tokenFile: string;
  tokenProblem?: string;
  dataDir: string;
  /** The config file read, or null for the built-in defaults. */
  configFile: string | null;
  /** Each place looked at and what was found, for error messages ("where it looked"). */
  looked: string[];
}

export interface LocateOptions {
  /** `-c FILE`. */
  configFlag?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  sections: readonly AnySection[];
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** -c, else $FERRY_CONFIG, else ./ferry.yaml when there is one, else no file (built-in defaults). */
async function configFileOf(options: LocateOptions): Promise<{ file: string | undefined; how: string }> {
  if (options.configFlag) return { file: resolve(options.cwd, options.configFlag), how: '-c' };
  const fromEnv = options.env.FERRY_CONFIG;
  if (fromEnv) return { file: resolve(options.cwd, fromEnv), how: 'FERRY_CONFIG' };
  const local = resolve(options.cwd, DEFAULT_CONFIG_FILE);
  if (await exists(local)) return { file: local, how: './ferry.yaml' };
  return { file: undefined, how: `no ${local}` };
}

/** A pid that exists (EPERM: it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readNodeFile(file: string): Promise<{ node?: NodeFile; finding: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { finding: `${file}: absent` };
  }
  try {
    const node = JSON.parse(text) as Partial<NodeFile>;
    if (typeof node.pid !== 'number' || typeof node.adminUrl !== 'string') return { finding: `${file}: not a node file, ignored` };
    // A node killed with SIGKILL leaves its file behind: trust it only while its pid lives.
    if (!isAlive(node.pid)) return { finding: `${file}: stale (pid ${node.pid} is not running), ignored` };
    return { node: node as NodeFile, finding: `${file}: pid ${node.pid}, ${node.adminUrl}` };
  } catch {
    return { finding: `${file}: not JSON, ignored` };
  }
}

/** A listener on every address is reached on loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

async function readToken(file: string): Promise<{ token?: string; problem?: string }> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    return token === '' ? { problem: `${file} is empty` } : { token };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return { problem: `${file} is not readable by this user (run as the node's user)` };
    return { problem: `no token file at ${file} (the node writes it when it starts)` };
  }
}

/**
 * Finds the node this CLI talks to: reads the same ferry.yaml as the node (with the same env
 * overrides), then prefers the admin URL the running node wrote to `<dataDir>/node.json`, which
 * is right even when the node listens on port 0 or another host than configured.
 */
export async function locateNode(options: LocateOptions): Promise<NodeLocation> {
  const { file, how } = await configFileOf(options);
  const looked = [file ? `config ${file} (${how})` : `config: none (${how}), built-in defaults`];
  const config = loadConfig({ file, env: options.env, sections: options.sections, onWarning: () => undefined }) as unknown as {
    dataDir: string;
    admin?: { port: number; host: string };
  };
  // Relative to the cwd, as the node resolves it when started from the same directory.
  const dataDir = resolve(options.cwd, config.dataDir);
  const admin = config.admin ?? DEFAULT_ADMIN;
  let adminUrl = `http://${connectHost(admin.host)}:${admin.port}`;

  const nodeFile = await readNodeFile(join(dataDir, NODE_FILE));
  looked.push(nodeFile.finding);
  if (nodeFile.node) adminUrl = nodeFile.node.adminUrl.replace(/\/+$/, '');
  else looked.push(`admin.port ${admin.port} → ${adminUrl}`);

  const tokenFile = join(dataDir, TOKEN_FILE);
  const { token, problem } = await readToken(tokenFile);
  return { adminUrl, token, tokenFile, ...(problem ? { tokenProblem: problem } : {}), dataDir, configFile: file ?? null, looked };
}
