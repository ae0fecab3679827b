// The Cancel button of a cancellable job's widget (jsdom, a fake server).
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";

import { closePages, page, progress, sleep, task, until } from "../test_support/pages.js";
import { watch } from "../widget.js";

afterEach(closePages);

const CANCELLABLE = `
<div class="jobtastic" id="w" data-jobtastic-url="/jobtastic/status/t/"
     data-jobtastic-cancel-url="/jobtastic/status/t/cancel/" data-jobtastic-csrf-token="csrf-123"
     data-jobtastic-poll-interval="0.01" data-jobtastic-language="en">
  <div class="jobtastic-bar" role="progressbar" aria-valuenow="0"><div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" aria-live="polite">Waiting for your task to begin…</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
  <button type="button" class="jobtastic-cancel" hidden>Cancel</button>
</div>`;

/**
 * Polls answer `polled()`; the cancel POST waits for `release()` and then answers
 * `cancelAnswer` (or throws it). Records every request.
 */
function cancelServer(polled, cancelAnswer) {
  const calls = [];
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const fetch = async (url, init = {}) => {
    calls.push({ url, method: init.method || "GET", headers: init.headers || {} });
    if (init.method === "POST") {
      await released;
      if (cancelAnswer instanceof Error) throw cancelAnswer;
      const { status, body } = cancelAnswer;
      return { ok: status < 300, status, headers: { get: () => null }, json: async () => body };
    }
    await sleep(2);
    return {
      ok: true, status: 200, headers: { get: () => null },
      json: async () => ({ task: polled(), poll_interval: 0.01 }),
    };
  };
  return { fetch, calls, release: () => release() };
}

const parts = (document) => ({
  widget: document.getElementById("w"),
  button: document.querySelector(".jobtastic-cancel"),
  status: document.querySelector(".jobtastic-status"),
  message: document.querySelector(".jobtastic-task-message"),
});

test("Cancel posts with the CSRF token, is disabled in flight, and a 202 ends following", async () => {
  const { document } = page(CANCELLABLE);
  const { widget, button, status } = parts(document);
  const api = cancelServer(() => progress(30, 60), { status: 202, body: { task: progress(30, 60) } });
  const handle = watch(widget, { fetch: api.fetch });
  const cancelled = [];
  widget.addEventListener("jobtastic:cancelled", (event) => cancelled.push(event.detail));
  await until(() => widget.dataset.jobtasticState === "PROGRESS", "progress shown");
  assert.equal(button.hidden, false);

  button.click();
  button.click(); // a second click while the first is in flight sends nothing
  assert.equal(button.disabled, true);
  assert.equal(button.getAttribute("aria-busy"), "true");
  api.release();
  await until(() => widget.dataset.jobtasticState === "REVOKED", "cancelled");

  const posts = api.calls.filter((call) => call.method === "POST");
  assert.equal(posts.length, 1);
  assert.equal(posts[0].url, "/jobtastic/status/t/cancel/");
  assert.equal(posts[0].headers["X-CSRFToken"], "csrf-123");
  assert.equal(status.textContent, "The job was cancelled.");
  assert.equal(button.hidden, true);
  assert.ok(handle.stopped);
  assert.equal(cancelled.length, 1);
  const polls = api.calls.length;
  await sleep(40);
  assert.equal(api.calls.length, polls, "no polling after the cancel");
});

test("a 409 (the job already ended) hides the button and following goes on", async () => {
  const { document } = page(CANCELLABLE);
  const { widget, button, message } = parts(document);
  let done = false;
  const api = cancelServer(
    () => (done ? task("SUCCESS") : progress(99, 1)),
    { status: 409, body: { error: "This job has already ended." } },
  );
  watch(widget, { fetch: api.fetch });
  await until(() => widget.dataset.jobtasticState === "PROGRESS", "progress shown");
  button.click();
  api.release();
  await until(() => button.hidden, "button hidden");
  assert.equal(message.textContent, "This job has already ended.");
  done = true;
  await until(() => widget.dataset.jobtasticState === "SUCCESS", "the job's end shown");
});

test("a cancel that fails (network, 503) brings the button back with a message", async () => {
  const { document } = page(CANCELLABLE);
  const { widget, button, message } = parts(document);
  const api = cancelServer(() => progress(30, 60), new TypeError("network down"));
  watch(widget, { fetch: api.fetch });
  await until(() => widget.dataset.jobtasticState === "PROGRESS", "progress shown");
  button.click();
  api.release();
  await until(() => !button.disabled, "button enabled again");
  assert.equal(button.hidden, false);
  assert.equal(message.textContent, "The job could not be cancelled. Please try again.");
  assert.equal(widget.dataset.jobtasticState, "PROGRESS"); // still followed
});

test("the button goes when the job ends, and stays hidden without a cancel URL", async () => {
  const { document } = page(CANCELLABLE);
  const { widget, button } = parts(document);
  let done = false;
  const api = cancelServer(() => (done ? task("SUCCESS") : progress(30, 60)), { status: 202, body: {} });
  watch(widget, { fetch: api.fetch });
  await until(() => button.hidden === false, "button shown");
  done = true;
  await until(() => widget.dataset.jobtasticState === "SUCCESS", "done");
  assert.equal(button.hidden, true);

  const other = page(CANCELLABLE.replace(/data-jobtastic-cancel-url="[^"]*"/, ""));
  watch(other.document.getElementById("w"), { fetch: api.fetch });
  await sleep(20);
  assert.equal(other.document.querySelector(".jobtastic-cancel").hidden, true);
});
