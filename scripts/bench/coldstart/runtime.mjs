// start starts a build's Go runtime outside workerd as isolate/worker.mjs
// starts it, with no bindings (main finds no KV and answers misconfigured,
// which GET /healthz does not read), and returns get(path), which hands the
// runtime one GET through the export isolate_deliver and runs Go until it
// waits again, and memory, the runtime's Wasm memory. answered counts the
// answers (respond or fail). DIR holds a build: app.wasm and wasm_exec.js.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

export async function start(dir) {
  await import(pathToFileURL(resolve(dir, "wasm_exec.js")));
  const mod = await WebAssembly.compile(await readFile(resolve(dir, "app.wasm")));
  const go = new Go();
  go._pendingEvent = null; // as isolate/worker.mjs sets it
  let inbox, inboxSize;
  const rt = { answered: 0 };
  const isolate = {
    ready: (ptr, size) => {
      inbox = ptr >>> 0;
      inboxSize = size >>> 0;
    },
    respond: () => rt.answered++,
    fail: () => rt.answered++,
  };
  for (const name of ["finish", "log", "kv", "fetch", "queueSend", "durable"]) isolate[name] = () => {};
  const instance = new WebAssembly.Instance(mod, { ...go.importObject, isolate, workers: { ready: () => {} } });
  rt.memory = instance.exports.mem ?? instance.exports.memory;
  const log = console.log;
  console.log = () => {}; // the worker's own lines
  go.run(instance, { env: {}, binding: {} });
  console.log = log;
  if (inbox === undefined) throw new Error(`${dir}: main did not reach isolate.Serve`);
  // After an event is handed over, Go runs until it waits again (worker.mjs).
  const runGo = instance.exports.go_scheduler ?? (() => go._resume());
  const encoder = new TextEncoder();
  let id = 0;
  rt.get = (path) => {
    const head = encoder.encode(`GET\nhttps://runtime.test${path}\n`);
    new Uint8Array(rt.memory.buffer, inbox, inboxSize).set(head);
    if (!instance.exports.isolate_deliver(1, ++id, 0, head.length, 0, 0)) throw new Error(`event ${id} was not taken`);
    runGo();
  };
  return rt;
}
