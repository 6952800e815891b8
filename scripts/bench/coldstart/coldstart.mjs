// Cold start of the worker's Go runtime outside workerd, one build against
// another in the same process, interleaved: what a new isolate pays before
// its first request, minus workerd itself. Per round and build:
//   compile  WebAssembly.compile of app.wasm
//   start    new WebAssembly.Instance + go.run, until main has reached
//            isolate.Serve (it calls the import ready), as isolate/worker.mjs does
// No bindings are passed, so main finds neither KV nor D1 (it answers
// misconfigured); neither is touched before the first request.
//
//   node scripts/bench/coldstart/coldstart.mjs [-rounds 20] DIR...
// where each DIR holds a build: app.wasm and wasm_exec.js (make build BUILD=DIR).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
let rounds = 20;
if (args[0] === "-rounds") {
  rounds = Number(args[1]);
  args.splice(0, 2);
}

const builds = [];
for (const dir of args) {
  // Each wasm_exec.js defines globalThis.Go; keep each build's own class.
  delete globalThis.Go;
  await import(pathToFileURL(resolve(dir, "wasm_exec.js")) + `?${builds.length}`);
  builds.push({ dir, Go: globalThis.Go, bytes: await readFile(resolve(dir, "app.wasm")), compile: [], start: [] });
}

const log = console.log;
console.log = () => {}; // the worker's own log lines
for (let r = 0; r < rounds; r++) {
  for (const b of r % 2 ? [...builds].reverse() : builds) {
    let t = performance.now();
    const mod = await WebAssembly.compile(b.bytes);
    b.compile.push(performance.now() - t);
    t = performance.now();
    const go = new b.Go();
    go._pendingEvent = null; // as isolate/worker.mjs sets it
    let served = false;
    const isolate = { ready: () => { served = true; } }; // the rest of isolate/bridge.go's imports: never called here
    for (const name of ["respond", "fail", "finish", "log", "kv", "fetch", "queueSend"]) isolate[name] = () => {};
    const instance = new WebAssembly.Instance(mod, { ...go.importObject, isolate, workers: { ready: () => {} } });
    go.run(instance, { env: {}, binding: {} });
    if (!served) throw new Error(`${b.dir}: main did not reach isolate.Serve`);
    b.start.push(performance.now() - t);
  }
}
console.log = log;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
console.log(`| build | raw bytes | compile p50 / max | start p50 / max |  (${rounds} rounds, node ${process.version})`);
console.log("|---|---|---|---|");
for (const b of builds) {
  console.log(`| ${b.dir} | ${b.bytes.length} | ${median(b.compile).toFixed(1)} / ${max(b.compile).toFixed(1)} ms | ${median(b.start).toFixed(1)} / ${max(b.start).toFixed(1)} ms |`);
}
