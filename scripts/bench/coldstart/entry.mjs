// What an entry into a build's Go runtime costs after a wait, outside
// workerd: the runtime started as isolate/worker.mjs starts it (runtime.mjs),
// then, per round, N entries (a GET /healthz through the export
// isolate_deliver, Go run until it waits again) back to back, N each after
// WAIT ms of sleep (an event-loop turn, as between a client's requests), N
// each after WAIT ms of spinning (no turn: Go's own timers cannot run), and
// a JavaScript control (JSON work of about the same CPU) back to back and
// after the sleep. Reported: the process's CPU per entry (process.cpuUsage,
// all its threads), the median of each.
//
//   node scripts/bench/coldstart/entry.mjs DIR [N] [WAIT]
// where DIR holds a build: app.wasm and wasm_exec.js (make build BUILD=DIR).
import { start } from "./runtime.mjs";

const [dir, events = "300", waitMs = "5"] = process.argv.slice(2);
const n = Number(events);
const wait = Number(waitMs);
const rt = await start(dir);

const cpu = (f) => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};
const entry = () => cpu(() => rt.get("/healthz"));
const control = () => cpu(() => {
  for (let k = 0; k < 20; k++) JSON.stringify(JSON.parse(`{"symbol":"MSFT","side":"buy","quantity":${k}}`));
});
const sleep = () => new Promise((res) => setTimeout(res, wait));
const spin = () => { for (const end = performance.now() + wait; performance.now() < end;); };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(3);
const times = async (f, before) => {
  const xs = [];
  for (let i = 0; i < n; i++) {
    await before?.();
    xs.push(f());
  }
  return median(xs);
};

for (let i = 0; i < 200; i++) entry();
console.log(`| round | Go entry, back to back | after ${wait} ms asleep | after ${wait} ms spinning | JS control, back to back | after ${wait} ms asleep |  (${dir}, ${n} each, ms of CPU, node ${process.version})`);
console.log("|---|---|---|---|---|---|");
for (let r = 1; r <= 3; r++) {
  const row = [await times(entry), await times(entry, sleep), await times(entry, spin), await times(control), await times(control, sleep)];
  console.log(`| ${r} | ${row.join(" | ")} |`);
}
