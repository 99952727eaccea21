// Shared pieces of the side-by-side benchmarks: a Ferry node from the built entry point, a test
// file, timed curl runs, and the report. Loopback only; every loop is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const WORK = join(ROOT, '.bench');

/**
 * PIN=1 runs every client on CPU 0 and every server (all its threads and processes) on CPU 1, with
 * taskset. Unpinned, the scheduler sometimes moves a client onto its server's CPU mid-run (a
 * socket wake-up pulls the woken task next to the waker), and the two then take turns on one CPU
 * while the other idles: on this 2-vCPU machine that alone made a line's rounds bimodal. Pinned,
 * each side has a CPU of its own, as with a client on another machine; helper threads (Ferry's
 * garbage collector and thread pool, vsftpd's and OpenSSH's second process) share their server's.
 */
export const PIN = process.env.PIN === '1';

/** `command` and `args` for spawn(), run on `cpu` when PIN=1. */
export function onCpu(cpu, command, args) {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

/** Clients run on CPU 0 with PIN=1. */
export const CLIENT_CPU = 0;
/** Servers run on CPU 1 with PIN=1. */
export const SERVER_CPU = 1;

export async function freshDir(name) {
  const dir = join(WORK, name);
  const existed = await stat(dir).then(() => true, () => false);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (existed) await afterDeleting();
  return dir;
}

/**
 * On ext4 without a journal (this machine's root filesystem), creating a file skips every free
 * inode of its block group that was freed less than 60 s ago, or 360 s while its inode-table block
 * is still dirty (RECENTCY_MIN and RECENTCY_DIRTY in the kernel's fs/ext4/ialloc.c), reading each
 * one's inode block first: right after a previous run's thousands of files were removed, every
 * create walks past all of them, and more so for whichever server's directory shares block groups
 * with them. So: write the inode blocks back, then wait out the 60 s.
 */
async function afterDeleting() {
  spawnSync('sync');
  const seconds = 61;
  console.log(`waiting ${seconds} s after removing the previous run's files (see afterDeleting in test/bench/lib/bench.mjs)`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
}

/** A file of `bytes` random bytes (random, so no layer can compress it away). */
export async function makeFile(path, bytes) {
  const have = await stat(path).then((s) => s.size, () => -1);
  if (have === bytes) return path;
  const r = spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > '${path}'`]);
  if (r.status !== 0) throw new Error(`could not create ${path}`);
  return path;
}

export function sha256File(path) {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (c) => hash.update(c)).on('end', () => done(hash.digest('hex'))).on('error', fail);
  });
}

/** Reads a file through once, unmeasured, so that a test that follows finds it in the page cache. */
export function readThrough(path) {
  const r = spawnSync('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`could not read ${path}`);
}

/** Runs curl once; returns bytes/s as curl measured it. */
export function curl(args) {
  const r = spawnSync(...onCpu(CLIENT_CPU, 'curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{speed_upload} %{speed_download} %{time_total}', ...args]), { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')} failed: ${r.stderr}`);
  const [up, down, total] = r.stdout.trim().split(' ').map(Number);
  return { up, down, seconds: total };
}

/** Starts a Ferry node with `yaml` in `dir`; resolves with its admin URL, token and a stop(). */
export async function startFerry(dir, yaml) {
  const configFile = join(dir, 'ferry.yaml');
  await writeFile(configFile, yaml);
  // FERRY_BENCH_NODE_ARGS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof') reaches every component: fork() inherits execArgv.
  const nodeArgs = (process.env.FERRY_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // What the node and its components print goes straight to a file (FERRY_BENCH_STDOUT=file keeps
  // it: log lines, --trace-gc), not to a pipe: the benches wait for their clients with spawnSync,
  // and a pipe nobody reads meanwhile fills up, leaving Ferry's logger retrying its writes.
  const stdout = openSync(process.env.FERRY_BENCH_STDOUT ?? '/dev/null', 'w');
  // taskset execs the node, so the child's pid is the node's; its components inherit the CPU.
  const child = spawn(...onCpu(SERVER_CPU, process.execPath, [...nodeArgs, join(ROOT, 'servers/node/dist/bin/ferry.js'), 'start', '-c', configFile]), { cwd: dir, stdio: ['ignore', stdout, 'inherit'] });
  closeSync(stdout);
  // The node writes its admin URL to <dataDir>/node.json once the API listens (whatever the log level).
  const nodeFile = join(dir, 'data', 'node.json');
  let adminUrl;
  for (let i = 0; i < 600 && !adminUrl; i++) {
    if (child.exitCode !== null) throw new Error(`ferry exited with ${child.exitCode}`);
    // Missing, or caught half-written: look again.
    adminUrl = await readFile(nodeFile, 'utf8').then((text) => JSON.parse(text).adminUrl).catch(() => undefined);
    if (!adminUrl) await new Promise((r) => setTimeout(r, 100));
  }
  if (!adminUrl) throw new Error('ferry did not come up in 60 s');
  const token = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
  const api = async (method, path, body) => {
    const res = await fetch(`${adminUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const stop = () => new Promise((done) => {
    child.on('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
  });
  return { api, stop, child };
}

/** CPU seconds of a process's main thread and of its other threads (FERRY_BENCH_THREADS=1 makes the benches print it for Ferry). */
export function threadSeconds(pid) {
  const byName = {};
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    // Node names no thread: the main thread is the one whose id is the process id.
    const name = task === String(pid) ? 'main' : 'others';
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return byName;
}

/**
 * CPU seconds (user + system) of a process, or of the children it has reaped: a forking server
 * (OpenSSH sshd) runs each connection in processes of its own, whose CPU time shows up in its
 * children's counters once they are over and reaped (for vsftpd, see cpuGroup).
 */
export function cpuSeconds(pid, children) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command: state is [0]; utime, stime are [11], [12]; cutime, cstime [13], [14].
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const ticks = children ? Number(fields[13]) + Number(fields[14]) : Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/**
 * CPU seconds of a process and everything it forks, from a cgroup v1 `cpuacct` group of its own
 * (run as root): a forking server's sessions are counted even when a process exits without its
 * parent waiting for it (vsftpd's unprivileged session process does), which the children's
 * counters of /proc miss. Undefined where no such group can be made.
 */
export function cpuGroup(name, pid) {
  const dir = `/sys/fs/cgroup/cpuacct/${name}`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/cgroup.procs`, String(pid));
  } catch {
    return undefined;
  }
  return {
    seconds: () => Number(readFileSync(`${dir}/cpuacct.usage`, 'utf8')) / 1e9,
    /** Removes the group once its processes are gone (waits up to 5 s; a group left behind is empty and harmless). */
    remove: () => {
      for (let i = 0; i < 50; i++) {
        try {
          return rmdirSync(dir);
        } catch {
          spawnSync('sleep', ['0.1']);
        }
      }
    },
  };
}

/** "main 0.41, others 0.12": CPU seconds per thread group between two threadSeconds() readings. */
export function threadSplit(before, after) {
  return Object.entries(after).map(([name, s]) => `${name} ${(s - (before[name] ?? 0)).toFixed(2)}`).join(', ');
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export const MB = 1e6;

/** Prints and returns the report rows: median MB/s of each side and the ratio Ferry / peer. */
export function report(title, peerName, rows) {
  const lines = [`${title}`, `| test | ${peerName} MB/s | Ferry MB/s | ratio |`, '|---|---|---|---|'];
  for (const row of rows) {
    const peer = median(row.peer) / MB;
    const ferry = median(row.ferry) / MB;
    lines.push(`| ${row.name} | ${peer.toFixed(0)} | ${ferry.toFixed(0)} | ${(ferry / peer).toFixed(2)}× |`);
  }
  // Every round, in the order run, so that a trend (a server still warming up) shows.
  const rounds = (values) => values.map((v) => (v / MB).toFixed(0)).join(' ');
  for (const row of rows) lines.push(`rounds, ${row.name}, MB/s: ${peerName} ${rounds(row.peer)}; Ferry ${rounds(row.ferry)}`);
  const text = lines.join('\n');
  console.log(text);
  return text;
}
