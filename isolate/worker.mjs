// The worker's entry module (make build copies it to build/worker.mjs, in
// place of the one syumai/workers generates). One Go runtime serves every
// fetch, cron and queue event of this isolate: syumai's module starts a fresh
// one per event, which costs CPU time before any Go code runs (BENCHMARKS.md).
//
// The Go side is isolate/isolate.go. The two speak through `binding`, the
// object the Go program finds at globalThis.context.binding:
//   JS -> Go  binding.serve(id, head, body, ctx)      head: method, URL, headers
//             binding.scheduled(id, cron, time)
//             binding.queue(id, head, bodies, ctx)     head: queue, then id and attempts per message
//   Go -> JS  binding.respond(id, head, body)          head: status, headers; for a queue
//                                                      batch, a verdict per message
//             binding.fail(id, reason)                 the JSON 500; a batch is retried
//             binding.finish(id, error)                a cron event's end
//             binding.fetch(head, body, timeoutMs)     isolate.Fetch
//             binding.queueSend(queue, json)           isolate.Queue.Send
// A head is lines joined by "\n"; header names and values cannot hold one.
import "./wasm_exec.js";
import mod from "./app.wasm";

// syumai's KV and D1 calls leak one callback each on the Go side (about
// 400 bytes of Wasm memory per request), and Wasm memory never shrinks, so a
// runtime retires after this many events, or once its memory passes this
// size (a TinyGo build's heap grew by tens of kilobytes an event in a soak):
// the next event starts a new one while the old one finishes what it has in
// flight, and is then collected.
const RETIRE_AFTER_EVENTS = 5000;
const RETIRE_ABOVE_BYTES = 32 << 20;
// A line with the runtime's memory is logged every this many events.
const STATS_EVERY_EVENTS = 10000;

// The answer when Go gives none: problem details, as every error is
// (idempotency/problem.go has the same code, title and type).
const INTERNAL_ERROR_DETAIL = "An internal error occurred. Retrying with the same Idempotency-Key is safe.";
const INTERNAL_ERROR = JSON.stringify({
  type: "https://github.com/orderintake/edge/blob/main/docs/problems.md#internal_error",
  title: "Internal error",
  status: 500,
  detail: INTERNAL_ERROR_DETAIL,
  error: "internal_error",
  message: INTERNAL_ERROR_DETAIL,
});

let current; // the runtime new events go to
let runtimesStarted = 0;
let eventsServed = 0;

class Runtime {
  constructor(env) {
    this.number = ++runtimesStarted;
    this.pending = new Map(); // event id -> the resolve function of its answer
    this.nextID = 0;
    this.events = 0;
    this.dead = false;
    this.binding = {
      respond: (id, head, body) => this.settle(id, { head, body }),
      fail: (id, reason) => this.settle(id, { error: reason }),
      finish: (id, error) => this.settle(id, { error }),
      fetch: platformFetch,
      queueSend,
    };
    const go = new Go();
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
      workers: { ready: () => {} }, // syumai's start signal; this glue needs none
    });
    // The standard Go exports its memory as "mem", TinyGo as "memory".
    this.memory = instance.exports.mem ?? instance.exports.memory;
    // go.run returns once main blocks, with Isolate.Serve's functions set.
    // TinyGo's wasm_exec.js has no go.exit: an exit settles go.run's promise.
    go.run(instance, { env, binding: this.binding }).then(
      (code) => this.die(`the Go program exited with code ${code}`),
      (err) => this.die(err),
    );
    if (typeof this.binding.serve !== "function") {
      this.die("the Go program did not call isolate.Serve");
      throw new Error("the Go runtime did not start");
    }
    log({ event: "runtime_started", runtime: this.number });
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
    try {
      call(id);
    } catch (err) {
      this.die(err); // answers this event too, with the JSON 500
    }
    return answer;
  }

  settle(id, answer) {
    const resolve = this.pending.get(id);
    this.pending.delete(id);
    resolve?.(answer);
  }

  die(reason) {
    if (this.dead) return;
    this.dead = true;
    if (current === this) current = undefined;
    log({ event: "runtime_died", runtime: this.number, inFlight: this.pending.size, error: String(reason) });
    for (const resolve of this.pending.values()) resolve({ error: `the Go runtime died: ${reason}` });
    this.pending.clear();
  }
}

function runtime(env) {
  if (current === undefined) current = new Runtime(env);
  return current;
}

async function onFetch(request, env, ctx) {
  let head, body;
  try {
    head = `${request.method}\n${request.url}\n${joinHeaders(request.headers)}`;
    body = await readBody(request, runtime(env).binding.maxBodyBytes);
  } catch (err) {
    return internalError(err);
  }
  // Taken again: the runtime may have retired or died while the body came in.
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.binding.serve(id, head, body, ctx));
  try {
    if (answer.error === undefined) return toResponse(answer.head, answer.body);
  } catch (err) {
    answer.error = err;
  }
  return internalError(answer.error);
}

async function onScheduled(controller, env, ctx) {
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.binding.scheduled(id, controller.cron, controller.scheduledTime));
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
    head += `\n${m.id}\n${m.attempts}`;
    bodies.push(messageBytes(m.body));
  }
  const rt = runtime(env);
  const answer = await rt.dispatch((id) => rt.binding.queue(id, head, bodies, ctx));
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
  return new TextEncoder().encode(typeof body === "string" ? body : String(JSON.stringify(body)));
}

// queueSend is isolate.Queue.Send's JavaScript half: an async function, so
// that anything send() throws rejects the promise Go waits on.
async function queueSend(queue, json) {
  await queue.send(JSON.parse(json), { contentType: "json" });
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

function joinHeaders(headers) {
  let text = "";
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
  return new Response(INTERNAL_ERROR, {
    status: 500,
    statusText: "Internal Server Error",
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store" },
  });
}

// platformFetch is isolate.Fetch's JavaScript half. The timeout aborts the
// fetch from here: Go timers cannot be relied on in a runtime shared by many
// requests (README: the rule for the request path).
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
