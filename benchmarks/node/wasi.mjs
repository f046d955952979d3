// Runs one WebAssembly command under node's built-in WASI (node:wasi, preview1), for the
// benchmark suite:
//
//   node wasi.mjs MODULE.wasm HOST:GUEST [HOST:GUEST ...] -- ARGS...
//
// Each HOST:GUEST is a preopened host directory. The exit status is the guest's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (argv.length < 1 || sep < 1) {
  console.error('usage: node wasi.mjs MODULE.wasm HOST:GUEST... -- ARGS...');
  process.exit(2);
}
const preopens = {};
for (const m of argv.slice(1, sep)) {
  const i = m.indexOf(':');
  preopens[m.slice(i + 1)] = m.slice(0, i);
}
const wasi = new WASI({
  version: 'preview1',
  args: ['prog', ...argv.slice(sep + 1)],
  env: {},
  preopens,
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(argv[0]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
