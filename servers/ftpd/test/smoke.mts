import { startFtpd, run, curlArgs, randomFile, sha256File } from './helpers.js';
const h = await startFtpd();
console.log('port', h.port, h.implicitPort);
const f = await randomFile(h.dir, 'src.bin', 1024 * 1024);
for (const mode of ['plain', 'explicit', 'implicit'] as const) {
  const up = await run('curl', [...curlArgs(h, mode, '/up-' + mode + '.bin'), '-T', f.path]);
  console.log(mode, 'up', up.code, up.stderr);
  const down = await run('curl', [...curlArgs(h, mode, '/up-' + mode + '.bin'), '-o', h.dir + '/down-' + mode]);
  console.log(mode, 'down', down.code, down.stderr, (await sha256File(h.dir + '/down-' + mode)) === (await sha256File(f.path)));
  const ls = await run('curl', [...curlArgs(h, mode, '/')]);
  console.log(ls.stdout);
}
await h.close();
