// What a build's Go runtime keeps of each event, outside workerd: it starts
// the runtime as isolate/worker.mjs does (no bindings: main finds no KV and
// answers misconfigured, which GET /healthz does not read), hands it N
// events one after another, each a GET /healthz through the export
// isolate_deliver, and prints the Wasm memory every N/10 events. Memory that
// grows with the events is a heap that keeps something of each.
//
//   node scripts/tinygo/heap.mjs DIR [N]
// where DIR holds a build: app.wasm and wasm_exec.js (make build BUILD=DIR,
// TINYGO=1 for TinyGo's).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, events = "2000"] = process.argv.slice(2);
const n = Number(events);
await import(pathToFileURL(resolve(dir, "wasm_exec.js")));
const mod = await WebAssembly.compile(await readFile(resolve(dir, "app.wasm")));
const go = new Go();
go._pendingEvent = null; // as isolate/worker.mjs sets it
let inbox, inboxSize, memory;
let answered = 0;
const isolate = {
  ready: (ptr, size) => {
    inbox = ptr >>> 0;
    inboxSize = size >>> 0;
  },
  respond: () => answered++,
  fail: () => answered++,
};
for (const name of ["finish", "log", "kv", "fetch", "queueSend"]) isolate[name] = () => {};
const instance = new WebAssembly.Instance(mod, { ...go.importObject, isolate, workers: { ready: () => {} } });
memory = instance.exports.mem ?? instance.exports.memory;
const log = console.log;
console.log = () => {}; // the worker's own lines
go.run(instance, { env: {}, binding: {} });
console.log = log;
if (inbox === undefined) throw new Error(`${dir}: main did not reach isolate.Serve`);
// After an event is handed over, Go runs until it waits again (worker.mjs).
const runGo = instance.exports.go_scheduler ?? (() => go._resume());
const head = new TextEncoder().encode("GET\nhttps://heap.test/healthz\n");
console.log("| events | answered | Wasm memory |\n|---|---|---|");
for (let i = 1; i <= n; i++) {
  new Uint8Array(memory.buffer, inbox, inboxSize).set(head);
  if (!instance.exports.isolate_deliver(1, i, 0, head.length, 0, 0)) throw new Error(`event ${i} was not taken`);
  runGo();
  if (i % Math.max(1, Math.floor(n / 10)) === 0) console.log(`| ${i} | ${answered} | ${(memory.buffer.byteLength / 1e6).toFixed(2)} MB |`);
}
