// The page's widgets share one batch request per interval (jsdom, a fake batch endpoint).
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";

import { closePages, page, progress, sleep, task, until } from "../test_support/pages.js";
import { MAX_BATCH_TOKENS, MAX_REQUEST_TARGET, watch } from "../widget.js";

afterEach(closePages);

/** A widget following `token` through the batch endpoint (id `w-<token>`). */
function batchWidget(token, extra = "") {
  return `
<div class="jobtastic" id="w-${token}" data-jobtastic-url="/jobtastic/status/${token}/"
     data-jobtastic-token="${token}" data-jobtastic-batch-url="/jobtastic/status/"
     data-jobtastic-poll-interval="0.01" data-jobtastic-language="en" ${extra}>
  <div class="jobtastic-bar" role="progressbar" aria-valuenow="0"><div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" aria-live="polite">Waiting for your task to begin…</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
</div>`;
}

/**
 * A fake batch endpoint: `answer(tokens, call)` gives each request's reply, either
 * `{tasks}` (status 200) or `{status, body, headers}`. Records the tokens of every request.
 */
function batchServer(answer) {
  const calls = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = async (url) => {
    const tokens = new URL(url, "https://example.test/").searchParams.getAll("t");
    calls.push({ url, tokens });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(2);
    inFlight -= 1;
    const reply = answer(tokens, calls.length);
    if (reply instanceof Error) throw reply;
    const { status = 200, headers = {} } = reply;
    const body = reply.tasks ? { tasks: reply.tasks, poll_interval: 0.01 } : reply.body;
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: { get: (name) => headers[name] ?? null },
      json: async () => body,
    };
  };
  return { fetch, calls, maxInFlight: () => maxInFlight };
}

const statusOf = (document, token) =>
  document.querySelector(`#w-${token} .jobtastic-status`).textContent;
const stateOf = (document, token) => document.getElementById(`w-${token}`).dataset.jobtasticState;

function watchAll(document, fetch) {
  return [...document.querySelectorAll(".jobtastic")].map((element) => watch(element, { fetch }));
}

test("three bars make one request per interval, each given its own task", async () => {
  const { document } = page(["a", "b", "c"].map((token) => batchWidget(token)).join(""));
  const api = batchServer((tokens, call) => ({
    tasks: Object.fromEntries(tokens.map((token) => [
      token,
      call >= 3 && token !== "c" ? task("SUCCESS") : progress(10 * call, 60),
    ])),
  }));
  watchAll(document, api.fetch);
  await until(() => stateOf(document, "a") === "SUCCESS" && stateOf(document, "b") === "SUCCESS", "a and b done");
  assert.deepEqual(api.calls[0].tokens, ["a", "b", "c"]); // one request for the page's widgets
  assert.equal(api.maxInFlight(), 1);
  assert.equal(stateOf(document, "c"), "PROGRESS");
  await until(() => api.calls.length >= 5, "more polls");
  assert.deepEqual(api.calls.at(-1).tokens, ["c"]); // finished jobs are no longer asked for
});

test("a token's error stops its widget only", async () => {
  const { document } = page(batchWidget("good") + batchWidget("gone"));
  const api = batchServer(() => ({
    tasks: { good: progress(50, 60), gone: { error: "This job does not exist." } },
  }));
  const [, gone] = watchAll(document, api.fetch);
  const errors = [];
  document.getElementById("w-gone").addEventListener("jobtastic:error", (event) => errors.push(event.detail));
  await until(() => api.calls.length >= 3, "polls");
  assert.equal(stateOf(document, "gone"), "ERROR");
  assert.deepEqual(errors, [{ status: 404, message: "This job does not exist." }]);
  assert.ok(gone.stopped);
  assert.equal(stateOf(document, "good"), "PROGRESS");
  assert.deepEqual(api.calls.at(-1).tokens, ["good"]);
});

test("a 503 makes every bar reconnect, honouring Retry-After, then all recover", async () => {
  const { document } = page(batchWidget("a") + batchWidget("b"));
  const api = batchServer((tokens, call) => (call === 1
    ? { status: 503, body: { error: "down" }, headers: { "Retry-After": "0.05" } }
    : { tasks: { a: task("SUCCESS"), b: task("SUCCESS") } }));
  watchAll(document, api.fetch);
  await until(() => api.calls.length === 1 && statusOf(document, "a").startsWith("Lost contact"), "reconnecting");
  assert.ok(statusOf(document, "b").startsWith("Lost contact"));
  await until(() => stateOf(document, "a") === "SUCCESS" && stateOf(document, "b") === "SUCCESS", "recovered");
  assert.equal(document.getElementById("w-a").dataset.jobtasticConnection, undefined);
});

test("a 4xx for the whole batch (a login page, a 400) stops every bar", async () => {
  const { document } = page(batchWidget("a") + batchWidget("b"));
  const api = batchServer(() => ({ status: 400, body: { error: "Too many jobs." } }));
  watchAll(document, api.fetch);
  await until(() => stateOf(document, "a") === "ERROR" && stateOf(document, "b") === "ERROR", "both stopped");
  await sleep(40);
  assert.equal(api.calls.length, 1);
});

test("more bars than one request takes are asked for in chunks", async () => {
  const tokens = Array.from({ length: MAX_BATCH_TOKENS + 10 }, (_, index) => `t${index}`);
  const { document } = page(tokens.map((token) => batchWidget(token)).join(""));
  const api = batchServer((asked) => ({
    tasks: Object.fromEntries(asked.map((token) => [token, task("SUCCESS")])),
  }));
  watchAll(document, api.fetch);
  await until(() => tokens.every((token) => stateOf(document, token) === "SUCCESS"), "all done");
  assert.deepEqual(api.calls.map((call) => call.tokens.length), [MAX_BATCH_TOKENS, 10]);
});

test("a bar added later joins the next request, and a removed one leaves", async () => {
  const { document } = page(batchWidget("a"));
  const api = batchServer((asked) => ({
    tasks: Object.fromEntries(asked.map((token) => [token, progress(5, 60)])),
  }));
  watchAll(document, api.fetch);
  await until(() => api.calls.length >= 2, "polling a");
  document.body.insertAdjacentHTML("beforeend", batchWidget("b"));
  watch(document.getElementById("w-b"), { fetch: api.fetch });
  await until(() => api.calls.at(-1).tokens.includes("b"), "b asked for");
  assert.deepEqual(api.calls.at(-1).tokens, ["a", "b"]);
  document.getElementById("w-a").remove();
  const seen = api.calls.length;
  await until(() => api.calls.length >= seen + 2, "polls after a left");
  assert.deepEqual(api.calls.at(-1).tokens, ["b"]);
});

test("a hidden tab pauses the shared polling until it is visible again", async () => {
  const { document } = page(batchWidget("a") + batchWidget("b"));
  let hidden = false;
  Object.defineProperty(document, "hidden", { get: () => hidden });
  const api = batchServer((asked) => ({
    tasks: Object.fromEntries(asked.map((token) => [token, progress(5, 60)])),
  }));
  watchAll(document, api.fetch);
  await until(() => api.calls.length >= 2, "polling");
  hidden = true;
  await sleep(30);
  const paused = api.calls.length;
  await sleep(60);
  assert.ok(api.calls.length <= paused + 1, "no polling while hidden");
  hidden = false;
  document.dispatchEvent(new document.defaultView.Event("visibilitychange"));
  await until(() => api.calls.length >= paused + 3, "polling again");
});

test("without a batch URL in the markup, a bar polls its own status URL", async () => {
  const { document } = page(batchWidget("a").replace(/data-jobtastic-batch-url="[^"]*"/, ""));
  const api = batchServer(() => ({ body: { task: task("SUCCESS"), poll_interval: 0.01 } }));
  watchAll(document, api.fetch);
  await until(() => stateOf(document, "a") === "SUCCESS", "done");
  assert.equal(api.calls[0].url, "/jobtastic/status/a/");
});

test("long tokens (real ones are about 180 characters) are split to fit a request line", async () => {
  const tokens = Array.from({ length: 30 }, (_, index) => `${index}`.padStart(180, "x"));
  const { document } = page(tokens.map((token) => batchWidget(token)).join(""));
  const api = batchServer((asked) => ({
    tasks: Object.fromEntries(asked.map((token) => [token, task("SUCCESS")])),
  }));
  watchAll(document, api.fetch);
  await until(() => tokens.every((token) => stateOf(document, token) === "SUCCESS"), "all done");
  assert.ok(api.calls.length >= 2);
  assert.deepEqual(api.calls.flatMap((call) => call.tokens).sort(), [...tokens].sort());
  for (const call of api.calls) {
    const url = new URL(call.url);
    assert.ok(url.pathname.length + url.search.length <= MAX_REQUEST_TARGET, call.url.length);
  }
});
