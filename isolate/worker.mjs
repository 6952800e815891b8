// The worker's entry module (make build copies it to build/worker.mjs, in
// place of the one syumai/workers generates). One Go runtime serves every
// fetch, cron and queue event of this isolate: syumai's module starts a fresh
// one per event, which costs CPU time before any Go code runs (BENCHMARKS.md).
// That runtime starts here, at module scope, when the isolate loads, so that
// no event pays for the start (docs/runtime.md#where-the-runtime-starts); if
// the start is refused there, the first event starts it, as it did before.
//
// The Go side is isolate/isolate.go and isolate/bridge.go. On the request
// path the two speak through WebAssembly imports and an export, with numbers
// for arguments and bytes in Go's memory (syscall/js costs more than a
// cached replay's own work, BENCHMARKS.md):
//   JS -> Go  export isolate_deliver(kind, id, status, aLen, bLen, x), the
//             bytes written into Go's inbox first, then Go resumed:
//               serve      a request: head (method, URL, headers), body
//               settle     a call's outcome: status, parts a and b
//               scheduled  a cron event: cron; x is its time
//               queue      a queue batch: head (queue, then id, attempts and
//                          body length per message), the bodies one after another
//   Go -> JS  imports of the module "isolate" (Runtime.imports below):
//               ready(inbox, size, maxBodyBytes, headerNames, internalError)
//                                                 isolate.Serve has started
//               respond(id, head, body)           head: status, headers; for a
//                                                 queue batch, a verdict per message
//               fail(id, reason)                  the JSON 500; a batch is retried
//               finish(id, failed, reason)        a cron event's end
//               log(line)                         console.log
//               kv(call, binding, ops, data)      isolate.KV.Run: get, put and
//                                                 delete operations run in turn
//               fetch(call, head, hasBody, body, timeoutMs)  isolate.Fetch
//               queueSend(call, binding, json)    isolate.Queue.Send
//               durable(call, binding, name, method, arg)  isolate.DurableObjects (records.mjs)
//             and, through syscall/js, binding.grow(n) (a larger inbox) for Go.
// A head is lines joined by "\n"; header names and values cannot hold one.
import * as workers from "cloudflare:workers";
import "./wasm_exec.js";
import mod from "./app.wasm";
import { callRecords } from "./records.mjs";
export { IdempotencyRecords } from "./records.mjs";

// Wasm memory never shrinks, so a runtime retires once its memory passes
// this size: the next event starts a new one while the old one finishes what
// it has in flight, and is then collected. With KV the memory of both builds
// stays flat (BENCHMARKS.md: the soak); syumai's D1 calls (strict mode) leak
// one callback each, so such a runtime retires after tens of thousands of
// events. A runtime started in an event costs that event the start, so no
// runtime retires for its number of events alone (RETIRE_AFTER_EVENTS; the
// bench sets it to 1 for a runtime per request).
const RETIRE_AFTER_EVENTS = Infinity;
const RETIRE_ABOVE_BYTES = 32 << 20;
// A line with the runtime's memory is logged every this many events.
const STATS_EVERY_EVENTS = 10000;

// The answer when Go gives none: the body Go gave at ready
// (isolate.Options.InternalError), else problem details that name no
// application.
let internalErrorBody = JSON.stringify({ type: "about:blank", title: "Internal Server Error", status: 500 });

// The kinds of event isolate_deliver carries (isolate/bridge.go).
const EVENT_SERVE = 1;
const EVENT_SETTLE = 2;
const EVENT_SCHEDULED = 3;
const EVENT_QUEUE = 4;
const EVENT_NOTHING = 5;

// HANDOVERS_REHEARSED is how many empty events a runtime started at module
// scope is handed: the export, Go's resume and its return to JavaScript run
// once per event, too briefly for V8 to optimize them in the rehearsal Go
// runs itself (isolate.Serve), and workerd drops what is not optimized
// before the first request comes (docs/runtime.md#where-the-runtime-starts).
const HANDOVERS_REHEARSED = 2000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let current; // the runtime new events go to
let runtimesStarted = 0;
let eventsServed = 0;

class Runtime {
  // where is "module" for a start at module scope, where the platform
  // refuses crypto.getRandomValues: the Go runtime's start then draws its
  // random bytes (its map hash seeds) from Math.random, and only its start
  // does (docs/adr/0008-a-runtime-seed-at-module-scope.md). Everything after,
  // crypto/rand included, draws from crypto.getRandomValues.
  constructor(env, where) {
    this.number = runtimesStarted + 1; // counted once it has started
    this.env = env;
    this.pending = new Map(); // event id -> the resolve function of its answer
    this.nextID = 0;
    this.events = 0;
    this.dead = false;
    this.binding = {};
    const go = new Go();
    this.go = go;
    let starting = where === "module";
    seedFromMathRandom(go.importObject, () => starting, () => this.memory);
    clockFromDateNow(go);
    // A Go program that exits (os.Exit, an unrecovered panic, a fatal error)
    // or traps can answer nothing more: fail what it holds, start afresh.
    go.exit = (code) => this.die(`the Go program exited with code ${code}`);
    const resume = go._resume.bind(go);
    go._resume = () => {
      if (this.dead) return; // a late callback of a dead runtime
      try {
        resume();
      } catch (err) {
        this.die(err);
      }
    };
    const instance = new WebAssembly.Instance(mod, {
      ...go.importObject,
      isolate: this.imports(),
      workers: { ready: () => {} }, // syumai's start signal; this glue needs none
    });
    this.deliver = instance.exports.isolate_deliver;
    // After an event is handed over, Go runs until it waits again: the
    // standard Go on resume; TinyGo on go_scheduler, which, unlike its
    // resume, starts no goroutine of its own (each export call already
    // gets a goroutine stack, which is garbage once it returns).
    const scheduler = instance.exports.go_scheduler;
    this.runGo = scheduler === undefined ? () => go._resume() : () => {
      if (this.dead) return;
      try {
        scheduler();
      } catch (err) {
        if (!go.exited) throw err; // an exit settles go.run's promise, which dies
      }
    };
    // The standard Go exports its memory as "mem", TinyGo as "memory".
    this.memory = instance.exports.mem ?? instance.exports.memory;
    // syumai's TinyGo wasm_exec.js leaves this undefined, which syscall/js
    // reads as an event; the standard one sets it to null.
    go._pendingEvent = null;
    // go.run returns once main blocks, isolate.Serve having called ready.
    // TinyGo's wasm_exec.js has no go.exit: an exit settles go.run's promise.
    // atModuleScope tells Go how long it may rehearse (isolate.Serve).
    go.run(instance, { env, binding: this.binding, atModuleScope: where === "module" }).then(
      (code) => this.die(`the Go program exited with code ${code}`),
      (err) => this.die(err),
    );
    // A later exit does not settle go.run's promise: it belongs to the event
    // that started this runtime, and settling it from another event's turn
    // makes workerd log a warning with a stack trace (which held back the
    // log lines after it). The runtime dies all the same.
    go._resolveExitPromise = () => this.die(`the Go program exited with code ${go.exitCode}`);
    starting = false;
    if (where === "module" && this.inbox !== undefined) {
      for (let i = 0; i < HANDOVERS_REHEARSED && !this.dead; i++) this.send(EVENT_NOTHING, 0, 0);
    }
    // A runtime that died while it started (in Go's rehearsal or the
    // handovers) is not handed out: current is assigned only once this
    // returns, so die() cannot clear it, and every event would go to it.
    if (this.inbox === undefined || this.dead) {
      // At module scope, the start's failure is logged once, by the module
      // (a thrown Go start rejects go.run's promise, whose reason comes a
      // microtask later and is kept as this.failure).
      if (where === "module") this.dead = true;
      else this.die("the Go program did not call isolate.Serve");
      throw new StartError(this);
    }
    runtimesStarted = this.number;
    log({ event: "runtime_started", runtime: this.number, at: where });
  }

  // imports are the functions Go calls (isolate/bridge.go). Pointers and
  // lengths come as i32: ">>> 0" reads them unsigned.
  imports() {
    return {
      ready: (inbox, size, maxBodyBytes, namesPtr, namesLen, failurePtr, failureLen) => {
        this.inbox = inbox >>> 0;
        this.inboxSize = size >>> 0;
        this.maxBodyBytes = maxBodyBytes;
        // The headers Go reads (isolate.Options.Headers), or all of them.
        this.headerNames = namesLen > 0 ? this.string(namesPtr, namesLen).split("\n") : null;
        if (failureLen > 0) internalErrorBody = this.bytes(failurePtr, failureLen).slice();
      },
      respond: (id, headPtr, headLen, bodyPtr, bodyLen) =>
        this.settle(id, { head: this.string(headPtr, headLen), body: this.bytes(bodyPtr, bodyLen).slice() }),
      fail: (id, reasonPtr, reasonLen) => this.settle(id, { error: this.string(reasonPtr, reasonLen) }),
      finish: (id, failed, reasonPtr, reasonLen) =>
        this.settle(id, { error: failed ? this.string(reasonPtr, reasonLen) : null }),
      log: (linePtr, lineLen) => console.log(this.string(linePtr, lineLen)),
      kv: (call, bindingPtr, bindingLen, opsPtr, opsLen, dataPtr, dataLen) => {
        // Each op is a line: "get <key bytes>", "put <key bytes> <value
        // bytes> <ttl>" or "delete <key bytes>"; the keys and values follow
        // one another in data.
        const ops = [];
        let at = dataPtr >>> 0;
        const take = (n) => {
          const text = this.string(at, n);
          at += n;
          return text;
        };
        for (const line of this.string(opsPtr, opsLen).split("\n")) {
          const [name, keyLen, valueLen, ttl] = line.split(" ");
          ops.push({ name, key: take(Number(keyLen)), value: name === "put" ? take(Number(valueLen)) : null, ttl: Number(ttl) });
        }
        const binding = this.string(bindingPtr, bindingLen);
        this.call(call, () => runKV(this.env[binding], ops), (outcome) => outcome);
      },
      fetch: (call, headPtr, headLen, hasBody, bodyPtr, bodyLen, timeoutMs) => {
        const head = this.string(headPtr, headLen);
        const body = hasBody ? this.bytes(bodyPtr, bodyLen).slice() : null;
        this.call(call, () => platformFetch(head, body, timeoutMs), ([head, bytes]) => [1, head, bytes]);
      },
      queueSend: (call, bindingPtr, bindingLen, jsonPtr, jsonLen) => {
        const json = this.string(jsonPtr, jsonLen);
        this.call(call, () => this.env[this.string(bindingPtr, bindingLen)].send(JSON.parse(json), { contentType: "json" }),
          () => [0]);
      },
      durable: (call, bindingPtr, bindingLen, namePtr, nameLen, methodPtr, methodLen, argPtr, argLen) => {
        const [binding, name, method, arg] = [this.string(bindingPtr, bindingLen), this.string(namePtr, nameLen),
          this.string(methodPtr, methodLen), this.string(argPtr, argLen)];
        this.call(call, () => callRecords(this.env[binding], name, method, arg), (reply) => [1, reply]);
      },
    };
  }

  string(ptr, len) {
    return len === 0 ? "" : decoder.decode(this.bytes(ptr, len));
  }

  bytes(ptr, len) {
    return new Uint8Array(this.memory.buffer, ptr >>> 0, len >>> 0);
  }

  // call runs start, which returns a promise, and settles Go's call with
  // what outcome makes of its value ([status, a, b]: a and b strings or
  // bytes), or with status -1 and the reason it was rejected.
  call(id, start, outcome) {
    let promise;
    try {
      promise = start();
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => this.send(EVENT_SETTLE, id, ...outcome(value)),
      (err) => this.send(EVENT_SETTLE, id, -1, String(err)),
    );
  }

  // send writes a and b (strings, bytes or arrays of bytes, either may be
  // absent) into Go's
  // inbox, hands the event over and lets Go run until it waits again. It
  // returns false when Go could not take it.
  send(kind, id, status, a, b, x = 0) {
    if (this.dead) { // a late outcome of a dead runtime, or an event it cannot take
      if (kind !== EVENT_SETTLE) this.settle(id, { error: "the Go runtime died" });
      return false;
    }
    try {
      const need = maxBytes(a) + maxBytes(b);
      if (need > this.inboxSize) this.binding.grow(need);
      const inbox = this.bytes(this.inbox, this.inboxSize);
      const aLen = put(inbox, 0, a);
      const bLen = put(inbox, aLen, b);
      if (!this.deliver(kind, id, status, aLen, bLen, x)) throw new Error("the Go runtime did not take an event");
      this.runGo();
      return true;
    } catch (err) {
      this.die(err);
      return false;
    }
  }

  // dispatch hands one event to Go and returns the promise of Go's answer:
  // { head, body } or { error }. Only the event's own handler turns that into
  // a Response: a Response made while Go runs in another request's turn would
  // belong to that request, and workerd refuses to send it for this one.
  dispatch(call) {
    const id = ++this.nextID;
    const answer = new Promise((resolve) => this.pending.set(id, resolve));
    const retire = ++this.events >= RETIRE_AFTER_EVENTS || this.memory.buffer.byteLength > RETIRE_ABOVE_BYTES;
    if (retire && current === this) {
      current = undefined;
      log({ event: "runtime_retired", runtime: this.number, events: this.events,
        wasmMemoryBytes: this.memory.buffer.byteLength });
    }
    if (++eventsServed % STATS_EVERY_EVENTS === 0) {
      log({ event: "runtime_stats", runtime: this.number, runtimesStarted, eventsServed,
        wasmMemoryBytes: this.memory.buffer.byteLength });
    }
    call(id); // a failure kills the runtime, which answers this event too
    return answer;
  }

  serve(id, head, body) {
    this.send(EVENT_SERVE, id, 0, head, body);
  }

  scheduled(id, cron, time) {
    this.send(EVENT_SCHEDULED, id, 0, cron, undefined, time);
  }

  queue(id, head, bodies) {
    this.send(EVENT_QUEUE, id, 0, head, bodies);
  }

  settle(id, answer) {
    const resolve = this.pending.get(id);
    this.pending.delete(id);
    resolve?.(answer);
  }

  die(reason) {
    this.failure ??= reason;
    if (this.dead) return;
    this.dead = true;
    if (current === this) current = undefined;
    log({ event: "runtime_died", runtime: this.number, inFlight: this.pending.size, error: String(reason) });
    for (const resolve of this.pending.values()) resolve({ error: `the Go runtime died: ${reason}` });
    this.pending.clear();
  }
}

// runKV runs KV operations one after another on the namespace ns and stops
// at the first get that finds a value: [its index + 1, the value], or [0]
// when no get found one.
async function runKV(ns, ops) {
  for (let i = 0; i < ops.length; i++) {
    const { name, key, value, ttl } = ops[i];
    if (name === "get") {
      const v = await ns.get(key);
      if (v !== null) return [i + 1, v];
    } else if (name === "put") {
      await ns.put(key, value, ttl > 0 ? { expirationTtl: ttl } : undefined);
    } else if (name === "delete") {
      await ns.delete(key);
    } else {
      throw new Error(`unknown KV operation ${name}`);
    }
  }
  return [0];
}

// seedFromMathRandom makes the Go runtime's random imports (the standard
// Go's runtime.getRandomData, TinyGo's too and its WASI random_get) fill
// their bytes from Math.random while starting() is true, and from
// crypto.getRandomValues, as wasm_exec.js does, once it is false.
function seedFromMathRandom(importObject, starting, memory) {
  const fill = (ptr, len) => {
    const bytes = new Uint8Array(memory().buffer, ptr, len);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  };
  const gojs = importObject.gojs;
  const getRandomData = gojs["runtime.getRandomData"];
  if (importObject.wasi_snapshot_preview1 === undefined) {
    // The standard Go: a slice (pointer, length: 8 bytes each) at sp + 8.
    gojs["runtime.getRandomData"] = (sp) => {
      if (!starting()) return getRandomData(sp);
      const view = new DataView(memory().buffer);
      const at = (sp >>> 0) + 8;
      fill(view.getUint32(at, true) + view.getInt32(at + 4, true) * 4294967296,
        view.getUint32(at + 8, true) + view.getInt32(at + 12, true) * 4294967296);
    };
    return;
  }
  // TinyGo: a pointer and a length.
  gojs["runtime.getRandomData"] = (ptr, len) => starting() ? fill(ptr >>> 0, len >>> 0) : getRandomData(ptr, len);
  const wasi = importObject.wasi_snapshot_preview1;
  const randomGet = wasi.random_get;
  wasi.random_get = (ptr, len) => {
    if (!starting()) return randomGet(ptr, len);
    fill(ptr >>> 0, len >>> 0);
    return 0;
  };
}

// clockFromDateNow makes the Go runtime's monotonic clock (the standard Go's
// runtime.nanotime1, TinyGo's runtime.ticks, which is its wall clock too)
// read Date.now(). wasm_exec.js reads Date.now() - performance.now() as its
// time origin when a Go is made, and at module scope workerd's
// performance.now() reads 0: both clocks would then run the time since 1970
// ahead. In an event workerd's performance.now() reads what Date.now() does.
function clockFromDateNow(go) {
  const gojs = go.importObject.gojs;
  if (go.importObject.wasi_snapshot_preview1 !== undefined) {
    gojs["runtime.ticks"] = () => BigInt(Date.now() * 1e6); // TinyGo: nanoseconds
    return;
  }
  gojs["runtime.nanotime1"] = (sp) => { // the standard Go: an int64 at sp + 8
    const ns = Date.now() * 1e6;
    go.mem.setUint32((sp >>> 0) + 8, ns, true);
    go.mem.setUint32((sp >>> 0) + 12, Math.floor(ns / 4294967296), true);
  };
}

// maxBytes is the most bytes put can write for part: UTF-8 takes at most
// three bytes for each UTF-16 code unit.
function maxBytes(part) {
  if (typeof part === "string") return part.length * 3;
  if (Array.isArray(part)) return part.reduce((n, p) => n + p.length, 0);
  return part ? part.length : 0;
}

// put writes part (a string, as UTF-8, bytes, or an array of bytes, one
// after another) into inbox at offset and returns how many bytes it wrote.
function put(inbox, offset, part) {
  if (typeof part === "string") return encoder.encodeInto(part, inbox.subarray(offset)).written;
  if (!part) return 0;
  if (Array.isArray(part)) {
    let n = 0;
    for (const p of part) n += put(inbox, offset + n, p);
    return n;
  }
  inbox.set(part, offset);
  return part.length;
}

// runtime is the runtime new events go to, started in this event when there
// is none: the module-scope start was refused, or the last runtime retired
// or died.
function runtime(env) {
  if (current === undefined) current = new Runtime(env, "event");
  return current;
}

// StartError is thrown when a Go program did not reach isolate.Serve; its
// runtime's failure, when known, says why.
class StartError extends Error {
  constructor(rt) {
    super("the Go runtime did not start");
    this.runtime = rt;
  }

  toString() {
    return this.runtime.failure === undefined ? this.message : `${this.message}: ${this.runtime.failure}`;
  }
}

// The start at module scope. workers.env (the bindings, vars and secrets) is
// there since the runtime's 2025-03 releases; without it, or when the start
// throws, the first event starts the runtime as before, and one line says why
// (a microtask later, once a failed start's reason has come).
try {
  if (workers.env === undefined) throw new Error("cloudflare:workers exports no env");
  current = new Runtime(workers.env, "module");
} catch (err) {
  current = undefined;
  Promise.resolve().then(() => log({ event: "runtime_start_deferred", error: String(err) }));
}

async function onFetch(request, env, ctx) {
  let head, body;
  try {
    const rt = runtime(env);
    head = `${request.method}\n${request.url}\n${joinHeaders(request.headers, rt.headerNames)}`;
    // A body of a known length within the limit (every order) is read whole,
    // without readBody's own promise.
    const length = request.body === null ? 0 : Number(request.headers.get("content-length"));
    body = length > 0 && length <= rt.maxBodyBytes
      ? new Uint8Array(await request.arrayBuffer())
      : await readBody(request, rt.maxBodyBytes);
  } catch (err) {
    return internalError(err);
  }
  // Taken again: the runtime may have retired or died while the body came in.
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.serve(id, head, body));
  try {
    if (answer.error === undefined) return toResponse(answer.head, answer.body);
  } catch (err) {
    answer.error = err;
  }
  return internalError(answer.error);
}

async function onScheduled(controller, env, ctx) {
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.scheduled(id, controller.cron, controller.scheduledTime));
  if (answer.error) throw new Error(answer.error);
}

// onQueue hands a batch to Go and acts on Go's verdict for each message:
// ack, or retry with Go's delay. The messages are acked and retried here,
// in the queue event's own handler. A batch Go could not decide (a panic, a
// runtime that died meanwhile) is retried whole: Go places each order under
// its idempotency records, so a message that was placed before the runtime
// died is acknowledged on its next delivery without being placed again.
async function onQueue(batch, env, ctx) {
  const messages = batch.messages;
  let head = batch.queue;
  const bodies = [];
  for (const m of messages) {
    const body = messageBytes(m.body);
    head += `\n${m.id}\n${m.attempts}\n${body.length}`;
    bodies.push(body);
  }
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.queue(id, head, bodies));
  let verdicts = [];
  if (answer.error === undefined) {
    verdicts = answer.head.split("\n");
  } else {
    log({ event: "queue_batch_failed", queue: batch.queue, messages: messages.length, error: String(answer.error) });
  }
  messages.forEach((m, i) => {
    const [verdict, delay] = (verdicts[i] ?? "retry").split(" ");
    if (verdict === "ack") m.ack();
    else if (Number(delay) > 0) m.retry({ delaySeconds: Number(delay) });
    else m.retry();
  });
}

// messageBytes is a message body as bytes: a JSON message (isolate.Queue
// sends those) as its JSON text.
function messageBytes(body) {
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return encoder.encode(typeof body === "string" ? body : String(JSON.stringify(body)));
}

// readBody reads at most limit bytes of the body and drops the rest unread.
async function readBody(request, limit) {
  if (request.body === null) return null;
  const length = Number(request.headers.get("content-length"));
  if (length > 0 && length <= limit) return new Uint8Array(await request.arrayBuffer());
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= limit) reader.cancel();
  const body = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.length - offset);
    body.set(part, offset);
    offset += part.length;
  }
  return body;
}

// joinHeaders writes headers as head lines: those named (lower case), or all
// when names is null. Getting a few by name costs less than iterating all.
function joinHeaders(headers, names = null) {
  let text = "";
  if (names !== null) {
    for (const name of names) {
      const value = headers.get(name);
      if (value !== null) text += `${name}\n${value}\n`;
    }
    return text;
  }
  for (const [name, value] of headers) text += `${name}\n${value}\n`;
  return text;
}

function splitHeaders(lines, from) {
  const headers = [];
  for (let i = from; i + 1 < lines.length; i += 2) headers.push([lines[i], lines[i + 1]]);
  return headers;
}

// toResponse builds the Response from Go's head ("status\nstatusText\n" and
// the headers) and body bytes.
function toResponse(head, body) {
  const lines = head.split("\n");
  const init = { status: Number(lines[0]), statusText: lines[1], headers: splitHeaders(lines, 2) };
  return new Response(body.length > 0 ? body : null, init);
}

function internalError(reason) {
  log({ event: "internal_error", status: 500, error: String(reason) });
  return new Response(internalErrorBody, {
    status: 500,
    statusText: "Internal Server Error",
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store" },
  });
}

// platformFetch is isolate.Fetch's JavaScript half. The timeout aborts the
// fetch from here: Go timers cannot be relied on in a runtime shared by many
// requests (docs/runtime.md: the rule for code on the request path).
async function platformFetch(head, body, timeoutMs) {
  const lines = head.split("\n");
  const response = await fetch(lines[1], {
    method: lines[0],
    headers: splitHeaders(lines, 2),
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return [`${response.status}\n${response.statusText}\n${joinHeaders(response.headers)}`, bytes];
}

function log(line) {
  console.log(JSON.stringify(line));
}

export default { fetch: onFetch, scheduled: onScheduled, queue: onQueue };
