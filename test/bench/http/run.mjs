#!/usr/bin/env node
// 1 GiB PUT and GET with curl against nginx (Debian, DAV PUT, sendfile on as Debian ships it) and
// Ferry httpd, side by side on loopback, alternating rounds. Usage: node test/bench/http/run.mjs [rounds]
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVER_CPU, curl, freshDir, makeFile, onCpu, report, sha256File, startFerry } from '../lib/bench.mjs';

const ROUNDS = Math.min(Number(process.argv[2] ?? 3), 10);
const SIZE = 1024 ** 3;
const NGINX_PORT = 18080;
const FERRY_PORT = 18081;

const dir = await freshDir('http');
const file = await makeFile(join(dir, '..', 'one-gib.bin'), SIZE);
const expected = await sha256File(file);

// nginx with its own config on a spare loopback port.
const nginxRoot = join(dir, 'nginx-root');
await mkdir(join(nginxRoot, 'files'), { recursive: true });
await mkdir(join(dir, 'nginx-tmp'), { recursive: true });
const nginxConf = join(dir, 'nginx.conf');
await writeFile(nginxConf, `
user root;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  sendfile on; tcp_nopush on; access_log off;
  client_body_temp_path ${dir}/nginx-tmp;
  server {
    listen 127.0.0.1:${NGINX_PORT};
    root ${nginxRoot};
    location /files/ { dav_methods PUT DELETE; create_full_put_path on; client_max_body_size 0; client_body_buffer_size 1m; }
  }
}
`);
const started = spawnSync(...onCpu(SERVER_CPU, 'nginx', ['-c', nginxConf, '-p', dir]));
if (started.status !== 0) throw new Error(`nginx did not start: ${started.stderr}`);

const ferryDir = join(dir, 'ferry');
await mkdir(ferryDir, { recursive: true });
const ferry = await startFerry(ferryDir, `dataDir: ${ferryDir}/data\nadmin: {port: 0, host: 127.0.0.1}\nhttpd: {port: ${FERRY_PORT}, host: 127.0.0.1}\nlog: {level: warn}\n`);
const home = join(ferryDir, 'home');
await ferry.api('POST', '/api/v1/accounts', { name: 'bench', password: 'bench-password', home });

const rows = [
  { name: 'PUT 1 GiB (curl -T)', peer: [], ferry: [] },
  { name: 'GET 1 GiB (curl -o /dev/null)', peer: [], ferry: [] },
];
try {
  for (let round = 0; round < ROUNDS; round++) {
    rows[0].peer.push(curl(['-T', file, `http://127.0.0.1:${NGINX_PORT}/files/big.bin`]).up);
    rows[0].ferry.push(curl(['-u', 'bench:bench-password', '-T', file, `http://127.0.0.1:${FERRY_PORT}/files/big.bin`]).up);
    rows[1].peer.push(curl([`http://127.0.0.1:${NGINX_PORT}/files/big.bin`]).down);
    rows[1].ferry.push(curl(['-u', 'bench:bench-password', `http://127.0.0.1:${FERRY_PORT}/files/big.bin`]).down);
  }
  if ((await sha256File(join(home, 'big.bin'))) !== expected) throw new Error('Ferry stored a different file');
  if ((await sha256File(join(nginxRoot, 'files/big.bin'))) !== expected) throw new Error('nginx stored a different file');
  report(`HTTP, 1 GiB, loopback, median of ${ROUNDS} rounds (${new Date().toISOString().slice(0, 10)})`, 'nginx', rows);
} finally {
  spawnSync('nginx', ['-c', nginxConf, '-p', dir, '-s', 'quit']);
  await ferry.stop();
}
