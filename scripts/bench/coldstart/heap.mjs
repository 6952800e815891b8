// What a build's Go runtime keeps of each event, outside workerd: it hands
// the runtime (runtime.mjs) N events one after another, each a GET /healthz,
// and prints the Wasm memory every N/10 events. Memory that grows with the
// events is a heap that keeps something of each (docs/tinygo.md: TinyGo's
// used to keep a goroutine stack).
//
//   node scripts/bench/coldstart/heap.mjs DIR [N]
// where DIR holds a build (make build BUILD=DIR, TINYGO=1 for TinyGo's).
import { start } from "./runtime.mjs";

const [dir, events = "2000"] = process.argv.slice(2);
const n = Number(events);
const rt = await start(dir);
console.log("| events | answered | Wasm memory |\n|---|---|---|");
for (let i = 1; i <= n; i++) {
  rt.get("/healthz");
  if (i % Math.max(1, Math.floor(n / 10)) === 0) console.log(`| ${i} | ${rt.answered} | ${(rt.memory.buffer.byteLength / 1e6).toFixed(2)} MB |`);
}
