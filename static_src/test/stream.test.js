// The page's widgets follow one pushed stream when the server offers it (jsdom, a fake
// EventSource the test drives), and fall back to polling when it fails.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";

import { closePages, page, progress, task, until } from "../test_support/pages.js";
import { watch } from "../widget.js";

afterEach(closePages);

function streamWidget(token) {
  return `
<div class="jobtastic" id="w-${token}" data-jobtastic-url="/jobtastic/status/${token}/"
     data-jobtastic-token="${token}" data-jobtastic-batch-url="/jobtastic/status/"
     data-jobtastic-events-url="/jobtastic/events/"
     data-jobtastic-poll-interval="0.01" data-jobtastic-language="en">
  <div class="jobtastic-bar" role="progressbar" aria-valuenow="0"><div class="jobtastic-bar-fill"></div></div>
  <p class="jobtastic-status" aria-live="polite">Waiting for your task to begin…</p>
  <p class="jobtastic-task-message" hidden></p>
  <p class="jobtastic-result" hidden></p>
</div>`;
}

/** A fake EventSource class for `window`: every instance is recorded, the test emits. */
function fakeEventSource(window) {
  const opened = [];
  class FakeEventSource {
    constructor(url) {
      this.url = url;
      this.listeners = {};
      this.closed = false;
      opened.push(this);
    }

    addEventListener(name, listener) {
      (this.listeners[name] ||= []).push(listener);
    }

    close() {
      this.closed = true;
    }

    emit(name, data) {
      const event = data === undefined ? {} : { data: JSON.stringify(data) };
      for (const listener of this.listeners[name] || []) listener(event);
    }
  }
  window.EventSource = FakeEventSource;
  return opened;
}

/** Polls answered from `answer(tokens)`; every request recorded. */
function pollServer(answer) {
  const calls = [];
  const fetch = async (url) => {
    calls.push(url);
    const tokens = new URL(url, "https://example.test/").searchParams.getAll("t");
    return {
      ok: true,
      status: 200,
      headers: { get: () => null },
      json: async () => ({ tasks: answer(tokens), poll_interval: 0.01 }),
    };
  };
  return { fetch, calls };
}

const stateOf = (document, token) => document.getElementById(`w-${token}`).dataset.jobtasticState;

test("with a stream offered, the page opens one for all its bars and never polls", async () => {
  const { window, document } = page(streamWidget("a") + streamWidget("b"));
  const opened = fakeEventSource(window);
  const api = pollServer(() => ({}));
  for (const element of document.querySelectorAll(".jobtastic")) watch(element, { fetch: api.fetch });
  await until(() => opened.length === 1, "a stream");
  const [source] = opened;
  assert.deepEqual(new URL(source.url, "https://example.test/").searchParams.getAll("t"), ["a", "b"]);
  source.emit("status", { token: "a", task: progress(40, 30) });
  source.emit("status", { token: "b", task: { error: "gone" } });
  source.emit("status", { token: "b", error: "This job does not exist." });
  assert.equal(stateOf(document, "a"), "PROGRESS");
  assert.equal(stateOf(document, "b"), "ERROR");
  source.emit("status", { token: "a", task: task("SUCCESS") });
  assert.equal(stateOf(document, "a"), "SUCCESS");
  assert.equal(source.closed, true, "closed once no bar follows it");
  assert.deepEqual(api.calls, []);
});

test("a stream that fails falls back to polling, then streams again", async () => {
  const { window, document } = page(streamWidget("a"));
  const opened = fakeEventSource(window);
  let done = false;
  const api = pollServer((tokens) => Object.fromEntries(
    tokens.map((token) => [token, done ? task("SUCCESS") : progress(20, 30)]),
  ));
  watch(document.getElementById("w-a"), { fetch: api.fetch });
  await until(() => opened.length === 1, "a stream");
  opened[0].emit("error");
  assert.equal(opened[0].closed, true);
  await until(() => api.calls.length >= 1 && stateOf(document, "a") === "PROGRESS", "polled");
  await until(() => opened.length === 2, "the stream tried again after its backoff", 5000);
  const polls = api.calls.length;
  opened[1].emit("status", { token: "a", task: task("SUCCESS") });
  assert.equal(stateOf(document, "a"), "SUCCESS");
  done = true;
  assert.equal(api.calls.length, polls, "no polling once streaming again");
});

test("without EventSource, or without an events URL, the page polls", async () => {
  const { document } = page(streamWidget("a"));
  const api = pollServer((tokens) => Object.fromEntries(tokens.map((t) => [t, task("SUCCESS")])));
  watch(document.getElementById("w-a"), { fetch: api.fetch }); // jsdom has no EventSource
  await until(() => stateOf(document, "a") === "SUCCESS", "polled to the end");
  assert.equal(api.calls.length, 1);
});

test("a bar added while streaming reopens the stream with every token", async () => {
  const { window, document } = page(streamWidget("a"));
  const opened = fakeEventSource(window);
  const api = pollServer(() => ({}));
  watch(document.getElementById("w-a"), { fetch: api.fetch });
  await until(() => opened.length === 1, "a stream");
  document.body.insertAdjacentHTML("beforeend", streamWidget("b"));
  watch(document.getElementById("w-b"), { fetch: api.fetch });
  await until(() => opened.length === 2, "a stream for both");
  assert.equal(opened[0].closed, true);
  assert.deepEqual(new URL(opened[1].url, "https://example.test/").searchParams.getAll("t"), ["a", "b"]);
});

test("between pushed events the widget ages the time left itself, then says overdue", async () => {
  const { window, document } = page(streamWidget("a"));
  const opened = fakeEventSource(window);
  watch(document.getElementById("w-a"), { fetch: pollServer(() => ({})).fetch });
  await until(() => opened.length === 1, "a stream");
  const status = document.querySelector("#w-a .jobtastic-status");
  opened[0].emit("status", { token: "a", task: progress(50, 1.5) });
  assert.equal(status.textContent, "Almost finished.");
  await until(() => status.textContent === "Taking longer than expected…", "overdue", 5000);
});

test("agedTask counts the time left down to 0, and leaves other answers alone", async () => {
  const { agedTask } = await import("../widget.js");
  const running = progress(50, 10);
  assert.equal(agedTask(running, 4).progress.time_remaining, 6);
  assert.equal(agedTask(running, 4).progress.overdue, false);
  assert.deepEqual(
    [agedTask(running, 12).progress.time_remaining, agedTask(running, 12).progress.overdue],
    [0, true],
  );
  const estimating = progress(1, -1);
  assert.equal(agedTask(estimating, 30), estimating);
  const queued = task("PENDING", { queued_at: "2026-11-30T07:00:00Z" });
  assert.equal(agedTask(queued, 30), queued);
});
