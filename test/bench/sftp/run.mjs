#!/usr/bin/env node
// OpenSSH sshd (Debian openssh-server, internal-sftp) and Ferry sshd side by side on loopback, with
// OpenSSH `sftp` as the client for both, per cipher: 1 GiB upload, 1 GiB download, 1000 × 64 KiB in
// one session, 50 concurrent sessions × 20 MiB. Rounds alternate between the servers; WARM_UP
// (3) unmeasured passes of the small files come first.
// Usage: [PIN=1] [ONLY=upload,download,1000,50] [CIPHERS=…] [WARM_UP=3] [SMALL_PASSES=3] node test/bench/sftp/run.mjs [rounds]
//   (after `npx turbo run build`; PIN: see lib/bench.mjs)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, userInfo } from 'node:os';
import { join } from 'node:path';
import { CLIENT_CPU, PIN, SERVER_CPU, cpuSeconds, freshDir, makeFile, median, onCpu, readThrough, report, sha256File, startFerry, threadSeconds, threadSplit } from '../lib/bench.mjs';

const ROUNDS = Math.min(Number(process.argv[2] ?? 3), 10);
const CIPHERS = (process.env.CIPHERS ?? 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com').split(',');
const ONLY = process.env.ONLY?.split(',');
const WARM_UP = Math.min(Number(process.env.WARM_UP ?? 3), 10);
/**
 * Passes of the small-file line per server and round, the servers taking turns pass by pass: one
 * pass takes about a second, and its speed swings by ±15 % from one to the next on this machine,
 * for both servers alike; three per round give that line's median 3 × as many samples.
 */
const SMALL_PASSES = Math.max(1, Math.min(Number(process.env.SMALL_PASSES ?? 3), 10));
const mbps = (bytesPerSecond) => (bytesPerSecond / 1e6).toFixed(0);
const GIB = 1024 ** 3;
const SMALL = { count: 1000, size: 64 * 1024 };
const PARALLEL = { sessions: 50, size: 20 * 1024 * 1024 };
const OPENSSH_PORT = 12022;
const FERRY_PORT = 12023;
const SSHD = '/usr/sbin/sshd';

if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install openssh-server`);
const dir = await freshDir('sftp');
const big = await makeFile(join(dir, '..', 'one-gib.bin'), GIB);
const expected = await sha256File(big);
const smallDir = join(dir, 'small');
await mkdir(smallDir);
for (let i = 0; i < SMALL.count; i++) await writeFile(join(smallDir, `f${String(i).padStart(4, '0')}.bin`), randomBytes(SMALL.size));
const mid = await makeFile(join(dir, 'twenty-mib.bin'), PARALLEL.size);

// One client key for both servers.
const clientKey = join(dir, 'id_ed25519');
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
const publicKey = (await readFile(`${clientKey}.pub`, 'utf8')).trim();

// OpenSSH sshd with its own config, host key and authorized_keys on a spare loopback port.
const peerDir = join(dir, 'openssh');
const peerFiles = join(peerDir, 'files');
await mkdir(peerFiles, { recursive: true });
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(peerDir, 'host_ed25519')]);
await writeFile(join(peerDir, 'authorized_keys'), `${publicKey}\n`);
await writeFile(join(peerDir, 'sshd_config'), [
  `Port ${OPENSSH_PORT}`,
  'ListenAddress 127.0.0.1',
  `HostKey ${join(peerDir, 'host_ed25519')}`,
  `AuthorizedKeysFile ${join(peerDir, 'authorized_keys')}`,
  `PidFile ${join(peerDir, 'sshd.pid')}`,
  'UsePAM no',
  'StrictModes no',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'PermitRootLogin prohibit-password',
  'MaxStartups 200',
  'MaxSessions 200',
  'Subsystem sftp internal-sftp',
  'LogLevel ERROR',
  '',
].join('\n'));
if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true }); // privilege separation directory
const peer = spawn(...onCpu(SERVER_CPU, SSHD, ['-D', '-f', join(peerDir, 'sshd_config'), '-E', join(peerDir, 'sshd.log')]), { stdio: 'inherit' });
// Whatever happens below, no server outlives the run.
let ferry;
process.on('exit', () => {
  peer.kill('SIGTERM');
  ferry?.child.kill('SIGTERM');
});
await waitForPort(OPENSSH_PORT);

const ferryDir = join(dir, 'ferry');
await mkdir(ferryDir, { recursive: true });
ferry = await startFerry(ferryDir, `dataDir: ${ferryDir}/data\nadmin: {port: 0, host: 127.0.0.1}\nsshd: {port: ${FERRY_PORT}, host: 127.0.0.1}\nlog: {level: ${process.env.FERRY_BENCH_LOG ?? "info"}}\n`);
const ferryHome = join(ferryDir, 'home');
const created = await ferry.api('POST', '/api/v1/accounts', { name: 'bench', password: 'bench-password-1', home: ferryHome });
if (created.status !== 201) throw new Error(`account: ${JSON.stringify(created)}`);
const keyAdded = await ferry.api('POST', '/api/v1/accounts/bench/ssh-keys', { key: publicKey });
if (keyAdded.status >= 300) throw new Error(`ssh key: ${JSON.stringify(keyAdded)}`);
await waitForPort(FERRY_PORT);

const ferryPid = (await ferry.api('GET', '/api/v1/components/sshd')).body.pid;
const servers = {
  // OpenSSH forks a process per connection; the listener reaps them, so their CPU time shows up in
  // its children's counters. Ferry's sshd is one process.
  peer: { port: OPENSSH_PORT, user: userInfo().username, root: peerFiles, home: peerFiles, cpu: () => cpuSeconds(peer.pid, true) },
  ferry: { port: FERRY_PORT, user: 'bench', root: '/', home: ferryHome, cpu: () => cpuSeconds(ferryPid, false) },
};

/** One OpenSSH sftp session running `commands`; resolves with its wall time in seconds. */
function sftp(server, cipher, commands, cwd = dir) {
  const args = [
    '-q', '-b', '-', '-P', String(server.port), '-c', cipher, '-i', clientKey,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
    `${server.user}@127.0.0.1`,
  ];
  const started = process.hrtime.bigint();
  const child = spawn(...onCpu(CLIENT_CPU, 'sftp', args), { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.stdin.end([`cd ${server.root}`, ...commands, ''].join('\n'));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`sftp to port ${server.port} failed (${code}): ${stderr}`));
      done(Number(process.hrtime.bigint() - started) / 1e9);
    });
  });
}

let smallRuns = 0;
const tests = [
  {
    name: 'upload 1 GiB',
    bytes: GIB,
    // Each upload starts from the same page-cache state, as in the FTP bench: the previous copy
    // gone. OpenSSH truncates it at once and writes into the freed pages; Ferry writes a partial
    // beside it and replaces it only at the end, so it needed a second GiB of page cache, and on
    // this VM pages not used recently cost up to ten times as much to fill (see BENCHMARKS.md).
    before: (s) => rm(join(s.home, 'big.bin'), { force: true }),
    run: (s, c) => sftp(s, c, [`put ${big} big.bin`]),
  },
  {
    name: 'download 1 GiB',
    bytes: GIB,
    // Read once, unmeasured, so that both servers read from the page cache: on this VM the kernel
    // sometimes drops one side's copy between the upload and the download, and the reads (on
    // Ferry's pool threads, in sftp-server itself) then cost four times the CPU.
    before: (s) => readThrough(join(s.home, 'big.bin')),
    run: (s, c) => sftp(s, c, ['get big.bin /dev/null']),
  },
  {
    name: `${SMALL.count} × 64 KiB, one session`,
    bytes: SMALL.count * SMALL.size,
    passes: SMALL_PASSES,
    // New files every run, into a directory of their own: overwriting the previous round's files
    // would measure ext4's flush on truncate/replace (auto_da_alloc) instead of the servers.
    run: (s, c) => {
      const target = `small-${++smallRuns}`;
      return sftp(s, c, [`-mkdir ${target}`, `cd ${target}`, ...Array.from({ length: SMALL.count }, (_, i) => `put f${String(i).padStart(4, '0')}.bin`)], smallDir);
    },
  },
  {
    name: `${PARALLEL.sessions} sessions × 20 MiB`,
    bytes: PARALLEL.sessions * PARALLEL.size,
    // As for the 1 GiB upload: the previous round's copies gone first, so that neither server
    // overwrites (OpenSSH truncating in place, Ferry needing a second 1 GB of page cache for its
    // partials) and both write into the pages just freed.
    before: (s) => Promise.all(Array.from({ length: PARALLEL.sessions }, (_, i) => rm(join(s.home, `p${i}.bin`), { force: true }))),
    run: async (s, c) => {
      const started = process.hrtime.bigint();
      await Promise.all(Array.from({ length: PARALLEL.sessions }, (_, i) => sftp(s, c, [`put ${mid} p${i}.bin`])));
      return Number(process.hrtime.bigint() - started) / 1e9;
    },
  },
].filter((t) => !ONLY || ONLY.some((only) => t.name.startsWith(only)));

// The download line must not depend on the upload line having run (and only it needs the copy).
for (const side of Object.values(servers)) {
  await mkdir(side.home, { recursive: true });
  if (tests.some((t) => t.name.startsWith('download'))) await copyFile(big, join(side.home, 'big.bin'));
}

const reports = [];
try {
  for (const cipher of CIPHERS) {
    const rows = tests.map((t) => ({ name: t.name, peer: [], ferry: [], peerCpu: [], ferryCpu: [] }));
    // Unmeasured passes of the small-file line per server first (WARM_UP, 3 by default), printed:
    // V8 compiles Ferry's per-request code only after a function has run often enough, and a
    // request type that runs three times per file was still being compiled, on the second CPU the
    // client needs, about 2500 files in. The rounds below measure both servers warm.
    for (const t of tests.filter((t) => t.name.startsWith(`${SMALL.count} `))) {
      const speeds = { peer: [], ferry: [] };
      for (let pass = 0; pass < WARM_UP; pass++) {
        for (const side of ['peer', 'ferry']) speeds[side].push(t.bytes / (await t.run(servers[side], cipher)));
      }
      console.log(`warm-up passes, ${t.name}, ${cipher}, MB/s: OpenSSH sshd ${speeds.peer.map(mbps).join(' ')}; Ferry ${speeds.ferry.map(mbps).join(' ')}`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, t] of tests.entries()) {
        // Alternate which server goes first, so neither always runs on a warmer page cache.
        const order = round % 2 === 0 ? ['peer', 'ferry'] : ['ferry', 'peer'];
        const sides = Array.from({ length: t.passes ?? 1 }, () => order).flat();
        for (const side of sides) {
          // Each run starts with nothing left for the kernel to write back from the one before; an
          // upload's previous copy is removed after that, so that the upload writes into the pages
          // just freed (see the FTP bench: a long sync lets this VM hand freed pages to its host).
          spawnSync('sync');
          await t.before?.(servers[side]);
          const cpuBefore = servers[side].cpu();
          const threadsBefore = side === 'ferry' && process.env.FERRY_BENCH_THREADS ? threadSeconds(ferryPid) : undefined;
          rows[i][side].push(t.bytes / (await t.run(servers[side], cipher)));
          // Let the per-connection processes exit and be reaped before reading the counters.
          await new Promise((r) => setTimeout(r, 300));
          rows[i][`${side}Cpu`].push(((servers[side].cpu() - cpuBefore) * GIB) / t.bytes);
          if (threadsBefore) console.log(`Ferry CPU seconds by thread, ${t.name}: ${threadSplit(threadsBefore, threadSeconds(ferryPid))}`);
        }
      }
    }
    for (const side of ['peer', 'ferry']) {
      if (tests.some((t) => t.name.startsWith('upload')) && (await sha256File(join(servers[side].home, 'big.bin'))) !== expected) {
        throw new Error(`${side} stored a different 1 GiB file`);
      }
    }
    const date = new Date().toISOString().slice(0, 10);
    console.log(`load average at the end of the ${cipher} runs: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    reports.push(report(`SFTP, ${cipher}, loopback, OpenSSH sftp client${PIN ? ', pinned (clients on CPU 0, servers on CPU 1)' : ''}, median of ${ROUNDS} rounds (small files: ${ROUNDS} × ${SMALL_PASSES} passes) (${date})`, 'OpenSSH sshd', rows));
    // Server CPU per GiB moved: what each server costs, whatever else the machine was doing.
    const cpu = ['server CPU seconds per GiB (user + system, median)', '| test | OpenSSH sshd | Ferry |', '|---|---|---|'];
    for (const row of rows) cpu.push(`| ${row.name} | ${median(row.peerCpu).toFixed(2)} | ${median(row.ferryCpu).toFixed(2)} |`);
    console.log(cpu.join('\n'));
    reports.push(cpu.join('\n'));
  }
} finally {
  peer.kill('SIGTERM');
  await ferry.stop();
}
await writeFile(join(dir, 'report.md'), `${reports.join('\n\n')}\n`);

async function waitForPort(port) {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((done) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), done(true)));
      socket.on('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
