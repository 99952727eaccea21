// Entry of a component child process: `node component-main.js <id>`, forked by the supervisor.
import { runComponentProcess } from '@ferry/core';
import { CATALOG } from './catalog.js';

const id = process.argv[2] ?? '';
const entry = CATALOG[id];
if (!entry) {
  console.error(`unknown component "${id}"; known: ${Object.keys(CATALOG).join(', ')}`);
  process.exit(2);
}
runComponentProcess(entry.create).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
