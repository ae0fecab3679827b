// What the widget's tests share: a page in jsdom, task payloads, and a scripted fake server.
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";

export const WIDGET = `
<div class="jobtastic" id="w" data-jobtastic-url="/jobtastic/status/t/"
     data-jobtastic-poll-interval="0.01" data-jobtastic-language="en"
     data-jobtastic-messages='{"success": "All done!"}'>
  <div class="jobtastic-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">
    <div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" aria-live="polite">Waiting for your task to begin…</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
</div>`;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(condition, what, timeout = 3000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const opened = [];

/** Close every page a test opened: its timers and watchers go too (an afterEach hook). */
export function closePages() {
  for (const window of opened.splice(0)) window.close();
}

export function page(body = WIDGET) {
  const dom = new JSDOM(`<!doctype html><html><body>${body}</body></html>`, {
    url: "https://example.test/page/",
    pretendToBeVisual: true,
    runScripts: "outside-only",
  });
  opened.push(dom.window);
  return { dom, window: dom.window, document: dom.window.document };
}

export function task(status, extra = {}) {
  return {
    id: "t",
    status,
    ready: ["SUCCESS", "FAILURE", "REVOKED"].includes(status),
    successful: null,
    result: null,
    progress: null,
    error: null,
    ...extra,
  };
}

export function progress(percent, timeRemaining, message = null) {
  return task("PROGRESS", {
    progress: { percent, time_remaining: timeRemaining, completed: 1, total: 2, message, started_at: null },
  });
}

/** A fake status endpoint answering from a script of responses (the last one repeats). */
export function server(...script) {
  const calls = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = async (url) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    calls.push({ url, at: Date.now() });
    await sleep(2);
    inFlight -= 1;
    const next = script.length > 1 ? script.shift() : script[0];
    if (next instanceof Error) throw next;
    const { status = 200, body, headers = {} } = next;
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: { get: (name) => headers[name] ?? null },
      json: async () => (body === undefined ? { task: next.task, poll_interval: 0.01 } : body),
    };
  };
  return { fetch, calls, maxInFlight: () => maxInFlight };
}

