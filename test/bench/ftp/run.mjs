#!/usr/bin/env node
// vsftpd (Debian, its own config on a spare loopback port, anonymous uploads into a temp dir) and
// Ferry ftpd side by side on loopback, alternating rounds: 1 GiB upload and download with curl,
// 1000 × 64 KiB with `lftp mirror -R` over one control connection. Plain FTP, passive mode. Every
// upload goes to a new name after `sync`, so each starts from the same page cache state;
// unmeasured passes per server come first (WARM_UP of the small files).
// Usage: [PIN=1] [ONLY=upload,download,1000] [WARM_UP=3] [SMALL_PASSES=3] node test/bench/ftp/run.mjs [rounds]
//   (after `npx turbo run build`; vsftpd runs as root; PIN: see lib/bench.mjs)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { CLIENT_CPU, PIN, SERVER_CPU, cpuGroup, cpuSeconds, curl, freshDir, makeFile, median, onCpu, readThrough, report, sha256File, startFerry, threadSeconds, threadSplit } from '../lib/bench.mjs';

const ROUNDS = Math.min(Number(process.argv[2] ?? 3), 10);
const WARM_UP = Math.min(Number(process.env.WARM_UP ?? 3), 10);
/** Passes of the small files per server and round, the servers taking turns (see the SFTP bench). */
const SMALL_PASSES = Math.max(1, Math.min(Number(process.env.SMALL_PASSES ?? 3), 10));
const GIB = 1024 ** 3;
const SMALL = { count: 1000, size: 64 * 1024 };
const VSFTPD = '/usr/sbin/vsftpd';
const VSFTPD_PORT = 12121;
const FERRY_PORT = 12122;
/**
 * Passive ports below the kernel's ephemeral range (ip_local_port_range, 32768-60999 here): vsftpd
 * binds a random port of its range per PASV, and one that a client's data connection still holds
 * as its own local port fails the bind ("500 OOPS: vsf_sysutil_bind", seen here with 41000-41100);
 * vsftpd then drops the session and lftp reconnects 15 s later, a round at 4 MB/s.
 */
const VSFTPD_PASSIVE = { from: 21000, to: 21999 };
const FERRY_PASSIVE = { from: 22000, to: 22100 };
const [ephemeralFrom] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
if (VSFTPD_PASSIVE.to >= ephemeralFrom || FERRY_PASSIVE.to >= ephemeralFrom) throw new Error(`passive ports must lie below the ephemeral range, which starts at ${ephemeralFrom}`);

if (!existsSync(VSFTPD)) throw new Error(`${VSFTPD} is missing: apt-get install vsftpd`);
const dir = await freshDir('ftp');
const big = await makeFile(join(dir, '..', 'one-gib.bin'), GIB);
const expected = await sha256File(big);
const smallDir = join(dir, 'small');
await mkdir(smallDir);
for (let i = 0; i < SMALL.count; i++) await writeFile(join(smallDir, `f${String(i).padStart(4, '0')}.bin`), randomBytes(SMALL.size));

// vsftpd: anonymous, its root read-only (vsftpd refuses a writable chroot) with a writable `up`.
const peerDir = join(dir, 'vsftpd');
const peerRoot = join(peerDir, 'root');
await mkdir(join(peerRoot, 'up'), { recursive: true });
await mkdir(join(peerDir, 'empty'));
await chmod(join(peerRoot, 'up'), 0o777);
const peerConf = join(peerDir, 'vsftpd.conf');
await writeFile(peerConf, [
  'listen=YES',
  'listen_address=127.0.0.1',
  `listen_port=${VSFTPD_PORT}`,
  'background=NO',
  'anonymous_enable=YES',
  'no_anon_password=YES',
  'anon_upload_enable=YES',
  'anon_mkdir_write_enable=YES',
  'anon_other_write_enable=YES',
  'write_enable=YES',
  `anon_root=${peerRoot}`,
  'anon_umask=022',
  'local_enable=NO',
  'seccomp_sandbox=NO',
  'pasv_enable=YES',
  `pasv_min_port=${VSFTPD_PASSIVE.from}`,
  `pasv_max_port=${VSFTPD_PASSIVE.to}`,
  `secure_chroot_dir=${join(peerDir, 'empty')}`,
  'xferlog_enable=NO',
  `vsftpd_log_file=${join(peerDir, 'vsftpd.log')}`,
  '',
].join('\n'));
const peer = spawn(...onCpu(SERVER_CPU, VSFTPD, [peerConf]), { stdio: 'inherit' });
const peerGroup = cpuGroup(`ferry-bench-vsftpd-${process.pid}`, peer.pid);
const peerCpu = peerGroup?.seconds ?? (() => cpuSeconds(peer.pid, true));
await waitForPort(VSFTPD_PORT);

const ferryDir = join(dir, 'ferry');
await mkdir(ferryDir, { recursive: true });
const ferry = await startFerry(ferryDir, `dataDir: ${ferryDir}/data\nadmin: {port: 0, host: 127.0.0.1}\nftpd: {port: ${FERRY_PORT}, host: 127.0.0.1, passivePorts: ${FERRY_PASSIVE.from}-${FERRY_PASSIVE.to}}\nlog: {level: info}\n`);
const ferryHome = join(ferryDir, 'home');
const created = await ferry.api('POST', '/api/v1/accounts', { name: 'bench', password: 'bench-password', home: ferryHome });
if (created.status !== 201) throw new Error(`account: ${JSON.stringify(created)}`);
const component = await ferry.api('GET', '/api/v1/components/ftpd');
if (component.body?.state !== 'running' || component.body.listening?.[0]?.port !== FERRY_PORT) {
  throw new Error(`Ferry ftpd is not serving on ${FERRY_PORT} (is the port taken?): ${JSON.stringify(component.body)}`);
}

const ferryPid = component.body.pid;
/**
 * Runs one measured step and notes the server's CPU seconds per GiB moved: Ferry's ftpd process, or
 * vsftpd with its session processes (its own cgroup; without one, the sessions it has reaped). With
 * FERRY_BENCH_THREADS=1 it also prints Ferry's CPU per thread group.
 */
function measured(side, row, step) {
  const cpu = side === 'ferry' ? () => cpuSeconds(ferryPid, false) : peerCpu;
  const before = cpu();
  const threadsBefore = side === 'ferry' && process.env.FERRY_BENCH_THREADS ? threadSeconds(ferryPid) : undefined;
  const result = step();
  if (side === 'peer') spawnSync('sleep', ['0.3']); // the session's processes exit after QUIT
  row[`${side}Cpu`].push(((cpu() - before) * GIB) / row.bytes);
  if (threadsBefore) console.log(`Ferry CPU seconds by thread, ${row.name}: ${threadSplit(threadsBefore, threadSeconds(ferryPid))}`);
  return result;
}

const servers = {
  peer: { url: `ftp://127.0.0.1:${VSFTPD_PORT}/up`, user: 'anonymous', password: '', files: join(peerRoot, 'up') },
  ferry: { url: `ftp://127.0.0.1:${FERRY_PORT}`, user: 'bench', password: 'bench-password', files: ferryHome },
};

/** `lftp mirror -R` of the small files into a new directory; returns bytes per second. */
function mirror(server, target) {
  const script = [
    'set net:max-retries 1',
    'set ftp:ssl-allow no',
    'set cmd:fail-exit yes',
    `open -u '${server.user},${server.password}' ${server.url}`,
    `mirror -R ${smallDir} ${target}`,
    'bye',
    '',
  ].join('\n');
  const started = process.hrtime.bigint();
  const r = spawnSync(...onCpu(CLIENT_CPU, 'lftp', [...(process.env.LFTP_DEBUG ? ['-d'] : []), '-c', script.replace(/\n/g, '; ').replace(/; $/, '')]), { encoding: 'utf8', timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (process.env.LFTP_DEBUG) console.log(r.stderr.split('\n').slice(0, 40).join('\n'));
  if (r.status !== 0) throw new Error(`lftp mirror to ${server.url} failed: ${r.stderr}`);
  return (SMALL.count * SMALL.size) / seconds;
}

const rows = [
  { name: 'upload 1 GiB (curl -T)', bytes: GIB },
  { name: 'download 1 GiB (curl -o /dev/null)', bytes: GIB },
  { name: `${SMALL.count} × 64 KiB upload (lftp mirror -R, one connection)`, bytes: SMALL.count * SMALL.size },
].map((row) => ({ ...row, peer: [], ferry: [], peerCpu: [], ferryCpu: [] }));
try {
  // One unmeasured pass per server first, with WARM_UP (3 by default) passes of the small files,
  // printed: V8 compiles Ferry's per-request code only once it has run often enough, and on the
  // SFTP line that was still going on, on the second CPU the client needs, about 2500 files in.
  const warmUp = { peer: [], ferry: [] };
  for (const side of ['peer', 'ferry']) {
    const s = servers[side];
    const auth = ['-u', `${s.user}:${s.password}`];
    if (wanted(rows[0])) curl([...auth, '-T', big, `${s.url}/big--1.bin`]);
    if (wanted(rows[1])) curl([...auth, `${s.url}/big--1.bin`]);
    if (wanted(rows[2])) for (let pass = 0; pass < WARM_UP; pass++) warmUp[side].push((mirror(s, `small-warm-up-${pass}`) / 1e6).toFixed(0));
  }
  if (wanted(rows[2])) console.log(`warm-up passes, ${rows[2].name}, MB/s: vsftpd ${warmUp.peer.join(' ')}; Ferry ${warmUp.ferry.join(' ')}`);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which server goes first, so neither always runs on the page cache the other left.
    for (const side of round % 2 === 0 ? ['peer', 'ferry'] : ['ferry', 'peer']) {
      const s = servers[side];
      const auth = ['-u', `${s.user}:${s.password}`];
      // Each upload starts from the same page cache state: nothing left to write back, then the
      // previous copy gone (vsftpd would truncate it at once, Ferry replace it only at the end).
      // In that order, the upload writes into the pages just freed: a sync of the step before can
      // take seconds, long enough for this VM to hand freed pages back to its host (free page
      // reporting, after 2 s), and pages handed back cost up to ten times as much to fill again.
      settle();
      await rm(join(s.files, `big-${round - 1}.bin`), { force: true });
      if (wanted(rows[0])) rows[0][side].push(measured(side, rows[0], () => curl([...auth, '-T', big, `${s.url}/big-${round}.bin`])).up);
      if (wanted(rows[1])) {
        // From the page cache for both servers (see the SFTP bench's download line).
        readThrough(join(s.files, `big-${round}.bin`));
        rows[1][side].push(measured(side, rows[1], () => curl([...auth, `${s.url}/big-${round}.bin`])).down);
      }
    }
    // The small files: SMALL_PASSES passes per server, the servers taking turns pass by pass.
    if (wanted(rows[2])) {
      const order = round % 2 === 0 ? ['peer', 'ferry'] : ['ferry', 'peer'];
      for (let pass = 0; pass < SMALL_PASSES; pass++) {
        for (const side of order) {
          settle();
          rows[2][side].push(measured(side, rows[2], () => mirror(servers[side], `small-${round}-${pass}`)));
        }
      }
    }
  }
  for (const side of ['peer', 'ferry']) {
    const s = servers[side];
    if (wanted(rows[0]) && (await sha256File(join(s.files, `big-${ROUNDS - 1}.bin`))) !== expected) throw new Error(`${side} stored a different 1 GiB file`);
    const count = wanted(rows[2]) ? (await readdir(join(s.files, `small-${ROUNDS - 1}-${SMALL_PASSES - 1}`))).length : SMALL.count;
    if (count !== SMALL.count) throw new Error(`${side} stored ${count} of ${SMALL.count} small files`);
  }
  report(`FTP, loopback, plain, passive${PIN ? ', pinned (clients on CPU 0, servers on CPU 1)' : ''}; median of ${ROUNDS} rounds (small files: ${ROUNDS} × ${SMALL_PASSES} passes) (${new Date().toISOString().slice(0, 10)})`, 'vsftpd', rows.filter(wanted));
  // Server CPU per GiB moved: what each server costs, whatever else the machine was doing.
  const cpu = ['server CPU seconds per GiB (user + system, median)', '| test | vsftpd | Ferry |', '|---|---|---|'];
  for (const row of rows.filter(wanted)) cpu.push(`| ${row.name} | ${median(row.peerCpu).toFixed(2)} | ${median(row.ferryCpu).toFixed(2)} |`);
  console.log(cpu.join('\n'));
} finally {
  peer.kill('SIGTERM');
  await ferry.stop();
  // Killed by a signal, a process has no exit code: signalCode says it is gone.
  await new Promise((resolve) => (peer.exitCode === null && peer.signalCode === null ? peer.once('exit', resolve) : resolve()));
  peerGroup?.remove();
}

/** ONLY=upload,download,1000 runs the lines whose names start so (all by default). */
function wanted(row) {
  const only = process.env.ONLY?.split(',');
  return !only || only.some((prefix) => row.name.startsWith(prefix));
}

/** Writes back what the previous step left dirty, so that no test pays for another's writes. */
function settle() {
  spawnSync('sync');
}

function waitForPort(port) {
  const deadline = Date.now() + 20_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}
