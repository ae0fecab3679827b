// Unit tests of the widget in jsdom: formatting, then the polling loop against a fake server.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { WIDGET, closePages, page, progress, server, sleep, task, until } from "../test_support/pages.js";

import {
  DEFAULT_MESSAGES,
  agedTask,
  describeProgress,
  describeWaiting,
  durationInWords,
  resultLink,
  retryDelay,
  waitedSeconds,
  watch,
} from "../widget.js";

const BUILT = new URL("../../django_jobtastic/static/django_jobtastic/jobtastic.js", import.meta.url);

afterEach(closePages);
function parts(document) {
  return {
    widget: document.getElementById("w"),
    bar: document.querySelector(".jobtastic-bar"),
    fill: document.querySelector(".jobtastic-bar-fill"),
    status: document.querySelector(".jobtastic-status"),
    message: document.querySelector(".jobtastic-task-message"),
    result: document.querySelector(".jobtastic-result"),
  };
}

// --- formatting ---------------------------------------------------------------------------

test("durations read as people say them", () => {
  assert.equal(durationInWords(3, "en"), "5 seconds");
  assert.equal(durationInWords(44, "en"), "45 seconds");
  assert.equal(durationInWords(58, "en"), "1 minute");
  assert.equal(durationInWords(125, "en"), "2 minutes");
  assert.equal(durationInWords(5400, "en"), "1.5 hours");
  assert.equal(durationInWords(90000, "en"), "25 hours");
});

test("durations follow the page's language and survive a bad tag", () => {
  assert.equal(durationInWords(120, "de"), "2 Minuten");
  assert.equal(durationInWords(120, "en-us"), "2 minutes");
  assert.equal(durationInWords(120, "not a language!"), "2 minutes");
});

test("progress has three tiers", () => {
  const say = (percent, remaining) => describeProgress(
    { percent, time_remaining: remaining }, DEFAULT_MESSAGES, "en",
  ).text;
  const starting = "Your job is getting started. Working on an estimate…";
  assert.equal(say(0, -1), starting);
  assert.equal(say(40, -1), starting);
  assert.equal(say(1.5, 100), starting);
  assert.equal(say(50, null), starting);
  assert.equal(say(60, 4), "Almost finished.");
  assert.equal(say(99, 30), "Almost finished.");
  assert.equal(say(42.7, 125), "42% complete, about 2 minutes left");
});

test("an estimate that ran out says so, whatever the percent", () => {
  const say = (progress) => describeProgress(progress, DEFAULT_MESSAGES, "en").text;
  assert.equal(say({ percent: 60, time_remaining: 0, overdue: true }), "Taking longer than expected…");
  assert.equal(say({ percent: 99, time_remaining: 0, overdue: true }), "Taking longer than expected…");
  assert.equal(say({ percent: 60, time_remaining: 0, overdue: false }), "Almost finished.");
  assert.equal(say({ percent: 60, time_remaining: 0, overdue: "yes" }), "Almost finished.");
});

test("the wait is counted on the server's clock when the answer says what time it is", () => {
  const queued = "2026-11-30T05:04:39.108582Z";
  assert.equal(waitedSeconds(queued, "Mon, 30 Nov 2026 05:06:39 GMT"), 119.892);
  assert.equal(waitedSeconds(queued, "Mon, 30 Nov 2026 05:00:00 GMT"), 0, "never negative");
  const byBrowser = waitedSeconds(new Date(Date.now() - 60000).toISOString(), null);
  assert.ok(byBrowser >= 60 && byBrowser < 70, "no Date header: the browser's clock");
  assert.equal(waitedSeconds(null, "Mon, 30 Nov 2026 05:06:39 GMT"), null);
  assert.equal(waitedSeconds("not a time", null), null);
  assert.equal(waitedSeconds(1732484105, null), null);
});

test("a queued job says how long it has waited once that is worth saying", () => {
  const say = (waited) => describeWaiting(waited, DEFAULT_MESSAGES, "en");
  assert.equal(say(null), "Waiting for your task to begin…");
  assert.equal(say(3), "Waiting for your task to begin…");
  assert.equal(say(125), "Waiting for your task to begin… (in the queue for 2 minutes)");
  const german = { ...DEFAULT_MESSAGES, waited: "Seit {waited} in der Warteschlange" };
  assert.equal(describeWaiting(40, german, "de"), "Seit 40 Sekunden in der Warteschlange");
});

test("with history, an estimate shows from the start and for a job without progress", () => {
  const say = (progress) => describeProgress(progress, DEFAULT_MESSAGES, "en").text;
  const known = { from_history: true };
  assert.equal(
    say({ ...known, percent: 0, time_remaining: 120, completed: null }),
    "Your job is getting started. About 2 minutes left",
  );
  assert.equal(say({ ...known, percent: 1, time_remaining: 90, completed: 3 }),
    "Your job is getting started. About 2 minutes left");
  assert.equal(say({ ...known, percent: 50, time_remaining: 60, completed: null }), "About 1 minute left");
  assert.equal(say({ ...known, percent: 50, time_remaining: 60, completed: 5 }),
    "50% complete, about 1 minute left");
  assert.equal(say({ ...known, percent: 99, time_remaining: 0, completed: null, overdue: true }),
    "Taking longer than expected…");
  assert.equal(say({ percent: 1, time_remaining: 90, completed: 3 }),
    "Your job is getting started. Working on an estimate…", "no history: as before");
});

test("between pushed answers, a bar that moves with time keeps moving", () => {
  const timed = task("PROGRESS", {
    progress: { percent: 25, time_remaining: 75, completed: null, from_history: true, overdue: false },
  });
  assert.deepEqual(
    [agedTask(timed, 25).progress.percent, agedTask(timed, 25).progress.time_remaining],
    [50, 50],
  );
  assert.equal(agedTask(timed, 500).progress.percent, 99);
  assert.equal(agedTask(timed, 500).progress.overdue, true);
  const counted = task("PROGRESS", {
    progress: { percent: 25, time_remaining: 75, completed: 1, from_history: true, overdue: false },
  });
  assert.equal(agedTask(counted, 25).progress.percent, 25, "a job that counts moves by its count");
  const queued = task("PENDING", {
    starts_in: 30,
    progress: { percent: 0, time_remaining: 90, completed: null, overdue: false },
  });
  assert.deepEqual([agedTask(queued, 10).starts_in, agedTask(queued, 10).progress.percent], [20, 0]);
});

test("a queued job with history says when it should start", () => {
  const say = (waited, startsIn) => describeWaiting(waited, DEFAULT_MESSAGES, "en", startsIn);
  assert.equal(say(3, 30), "Starts in about 30 seconds");
  assert.equal(say(125, 0), "Waiting for your task to begin… (in the queue for 2 minutes)");
  assert.equal(say(3, null), "Waiting for your task to begin…");
});

test("percent is clamped for the bar", () => {
  assert.equal(describeProgress({ percent: 140, time_remaining: 1 }, DEFAULT_MESSAGES).percent, 100);
  assert.equal(describeProgress({ percent: -3, time_remaining: 1 }, DEFAULT_MESSAGES).percent, 0);
  assert.equal(describeProgress({ percent: "NaN", time_remaining: 1 }, DEFAULT_MESSAGES).percent, 0);
});

test("only http(s) and site-relative results become links", () => {
  const base = "https://example.test/page/";
  assert.equal(resultLink("/media/export.csv", base), "https://example.test/media/export.csv");
  assert.equal(resultLink({ url: "https://cdn.test/a.svg", rows: 3 }, base), "https://cdn.test/a.svg");
  assert.equal(resultLink("javascript:alert(1)", base), null);
  assert.equal(resultLink({ url: "JavaScript:alert(1)" }, base), null);
  assert.equal(resultLink("data:text/html,<b>x</b>", base), null);
  assert.equal(resultLink("done", base), null);
  assert.equal(resultLink("//evil.test/x", base), null);
  assert.equal(resultLink("/\\evil.test/x", base), null);
  assert.equal(resultLink({ url: "//evil.test/x" }, base), null);
  assert.equal(resultLink(42, base), null);
  assert.equal(resultLink(null, base), null);
});

test("retries honour Retry-After, else back off up to a ceiling", () => {
  assert.equal(retryDelay(1, "3", 1), 3);
  assert.equal(retryDelay(5, "0", 1), 0);
  assert.equal(retryDelay(1, null, 1), 1);
  assert.equal(retryDelay(3, null, 1), 4);
  assert.equal(retryDelay(20, null, 1), 30);
  const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
  assert.ok(Math.abs(retryDelay(1, inTwoSeconds, 1) - 2) <= 1);
});

// --- the polling loop ----------------------------------------------------------------------

test("polls at once, sequentially, and follows a job to SUCCESS", async () => {
  const { document } = page();
  const fake = server(
    { task: task("PENDING") },
    { task: progress(0, -1) },
    { task: progress(50, 125, "Step <b>2</b>") },
    { task: task("SUCCESS", { result: { url: "/media/export.csv" } }) },
  );
  const seen = [];
  const { widget, bar, fill, status, message, result } = parts(document);
  widget.addEventListener("jobtastic:progress", (event) => seen.push(event.detail.status));
  const done = new Promise((resolve) => widget.addEventListener("jobtastic:success", resolve));

  watch(widget, { fetch: fake.fetch });
  assert.equal(fake.calls.length, 1, "the first poll is immediate");
  await until(() => seen.includes("PROGRESS") && bar.getAttribute("aria-valuenow") === "50", "50 %");
  assert.equal(status.textContent, "50% complete, about 2 minutes left");
  assert.equal(message.textContent, "Step <b>2</b>");
  assert.equal(message.hidden, false);
  assert.equal(fill.style.width, "50%");
  const success = await done;

  assert.equal(success.detail.status, "SUCCESS");
  assert.equal(bar.getAttribute("aria-valuenow"), "100");
  assert.equal(status.textContent, "All done!", "translated texts come from the markup");
  assert.equal(result.querySelector("a").getAttribute("href"), "https://example.test/media/export.csv");
  assert.equal(result.hidden, false);
  assert.equal(message.hidden, true, "the run's own message goes with the run");
  assert.deepEqual(seen.slice(0, 2), ["PENDING", "PROGRESS"]);
  const calls = fake.calls.length;
  await sleep(60);
  assert.equal(fake.calls.length, calls, "no poll after SUCCESS");
  assert.equal(fake.maxInFlight(), 1, "never two requests in flight");
});

test("a queued job's wait shows while it is pending", async () => {
  const { document } = page();
  const date = "Mon, 30 Nov 2026 05:06:39 GMT";
  const fake = server({ task: task("PENDING", { queued_at: "2026-11-30T05:05:39Z" }), headers: { Date: date } });
  const { widget, status } = parts(document);
  const handle = watch(widget, { fetch: fake.fetch });
  await until(() => status.textContent.includes("queue"), "the wait");
  handle.stop();
  assert.equal(status.textContent, "Waiting for your task to begin… (in the queue for 1 minute)");
  assert.equal(widget.dataset.jobtasticState, "PENDING");
});

test("a queued job with history shows when it starts, not a progress sentence", async () => {
  const { document } = page();
  const pending = task("PENDING", {
    queued_at: "2026-11-30T05:05:39Z",
    starts_in: 30,
    progress: { percent: 0, time_remaining: 150, completed: null, total: null, message: null,
      started_at: null, updated_at: null, overdue: false },
  });
  const fake = server({ task: pending });
  const { widget, status, bar } = parts(document);
  const handle = watch(widget, { fetch: fake.fetch });
  await until(() => status.textContent.includes("Starts"), "the start");
  handle.stop();
  assert.equal(status.textContent, "Starts in about 30 seconds");
  assert.equal(bar.getAttribute("aria-valuenow"), "0");
});

test("a hostile task message stays text", async () => {
  const { document, window } = page();
  let alerted = false;
  window.alert = () => { alerted = true; };
  const fake = server({ task: progress(10, 50, "<img src=x onerror=alert(1)>") });
  const handle = watch(parts(document).widget, { fetch: fake.fetch });
  await until(() => parts(document).message.textContent !== "", "the message");
  handle.stop();
  assert.equal(parts(document).message.textContent, "<img src=x onerror=alert(1)>");
  assert.equal(document.querySelector("img"), null);
  assert.equal(alerted, false);
});

test("FAILURE shows the error's message and stops", async () => {
  const { document } = page();
  const error = { type: "UserFacingError", message: "Cannot divide 5 by zero." };
  const fake = server({ task: task("FAILURE", { error, result: error.message }) });
  const { widget, status } = parts(document);
  const failed = new Promise((resolve) => widget.addEventListener("jobtastic:failure", resolve));
  watch(widget, { fetch: fake.fetch });
  assert.equal((await failed).detail.error.type, "UserFacingError");
  assert.equal(status.textContent, "Cannot divide 5 by zero.");
  assert.equal(widget.dataset.jobtasticState, "FAILURE");
  await sleep(40);
  assert.equal(fake.calls.length, 1);
});

test("REVOKED without a message says the job was cancelled", async () => {
  const { document } = page();
  const fake = server({ task: task("REVOKED") });
  const { widget, status } = parts(document);
  const failed = new Promise((resolve) => widget.addEventListener("jobtastic:failure", resolve));
  watch(widget, { fetch: fake.fetch });
  await failed;
  assert.equal(status.textContent, "The job was cancelled.");
});

test("503s and network errors reconnect, honouring Retry-After, then recover", async () => {
  const { document } = page();
  const unavailable = { status: 503, body: { error: "down" }, headers: { "Retry-After": "0.2" } };
  const fake = server(unavailable, new TypeError("network down"), { task: progress(30, 60) });
  const { widget, status, bar } = parts(document);
  watch(widget, { fetch: fake.fetch });
  await until(() => status.textContent === DEFAULT_MESSAGES.reconnecting, "reconnecting");
  assert.equal(widget.dataset.jobtasticConnection, "reconnecting");
  await until(() => bar.getAttribute("aria-valuenow") === "30", "recovery");
  assert.ok(fake.calls[1].at - fake.calls[0].at >= 190, "waited for Retry-After");
  assert.equal(widget.dataset.jobtasticConnection, undefined);
});

test("a 429 is retried too", async () => {
  const { document } = page();
  const fake = server({ status: 429, body: {}, headers: { "Retry-After": "0" } }, { task: task("SUCCESS") });
  const { widget } = parts(document);
  const done = new Promise((resolve) => widget.addEventListener("jobtastic:success", resolve));
  watch(widget, { fetch: fake.fetch });
  await done;
  assert.equal(fake.calls.length, 2);
});

test("a 404 stops with a clear message and an error event", async () => {
  const { document } = page();
  const fake = server({ status: 404, body: { error: "This job does not exist." } });
  const { widget, status } = parts(document);
  const gaveUp = new Promise((resolve) => widget.addEventListener("jobtastic:error", resolve));
  watch(widget, { fetch: fake.fetch });
  const event = await gaveUp;
  assert.deepEqual(event.detail, { status: 404, message: "This job does not exist." });
  assert.equal(status.textContent, DEFAULT_MESSAGES.unavailable);
  await sleep(40);
  assert.equal(fake.calls.length, 1);
});

test("a 200 that is no status (a login page) stops at once", async () => {
  const { document } = page();
  const fake = server({ status: 200, body: null }); // the HTML did not parse as JSON
  const { widget, status } = parts(document);
  const gaveUp = new Promise((resolve) => widget.addEventListener("jobtastic:error", resolve));
  watch(widget, { fetch: fake.fetch });
  const event = await gaveUp;
  assert.deepEqual(event.detail, { status: 200, message: DEFAULT_MESSAGES.unavailable });
  assert.equal(status.textContent, DEFAULT_MESSAGES.unavailable);
  assert.equal(widget.dataset.jobtasticState, "ERROR");
  assert.equal(fake.calls.length, 1);
});

test("gives up once polls have failed for giveUpAfter seconds", async () => {
  const { document } = page();
  const fake = server({ status: 502, body: null, headers: { "Retry-After": "0.02" } });
  const { widget } = parts(document);
  const gaveUp = new Promise((resolve) => widget.addEventListener("jobtastic:error", resolve));
  const started = Date.now();
  watch(widget, { fetch: fake.fetch, giveUpAfter: 0.2 });
  assert.deepEqual((await gaveUp).detail, { status: 502, message: DEFAULT_MESSAGES.unavailable });
  assert.ok(Date.now() - started >= 200);
  assert.ok(fake.calls.length >= 3, "it kept retrying until then");
});

test("a request the server never answers times out into reconnecting", async () => {
  const { document } = page();
  let calls = 0;
  const hanging = (url, { signal }) => {
    calls += 1;
    if (calls > 1) return server({ task: progress(20, 60) }).fetch(url);
    return new Promise((resolve, reject) => {
      signal.addEventListener("abort", () => reject(new Error("aborted")));
    });
  };
  const { widget, status, bar } = parts(document);
  watch(widget, { fetch: hanging, timeout: 0.05 });
  await until(() => status.textContent === DEFAULT_MESSAGES.reconnecting, "reconnecting");
  await until(() => bar.getAttribute("aria-valuenow") === "20", "the next poll", 4000);
});

test("an explicit pollInterval wins over the server's", async () => {
  const { document } = page();
  const fake = server({ body: { task: progress(10, 50), poll_interval: 0.001 } });
  const handle = watch(parts(document).widget, { fetch: fake.fetch, pollInterval: 0.1 });
  await sleep(250);
  handle.stop();
  assert.ok(fake.calls.length <= 4, `${fake.calls.length} polls in 250 ms at 0.1 s`);
});

test("a hidden tab pauses polling until it is visible again", async () => {
  const { document, window } = page();
  const fake = server({ task: progress(10, 50) });
  const handle = watch(parts(document).widget, { fetch: fake.fetch });
  await until(() => fake.calls.length >= 2, "polling");
  Object.defineProperty(document, "hidden", { value: true, configurable: true });
  await until(() => handle.paused, "the pause");
  const whileHidden = fake.calls.length;
  await sleep(60); // several poll intervals pass
  assert.equal(fake.calls.length, whileHidden, "no polls while hidden");
  Object.defineProperty(document, "hidden", { value: false, configurable: true });
  document.dispatchEvent(new window.Event("visibilitychange"));
  await until(() => fake.calls.length > whileHidden, "resumed");
});

test("stop() ends polling, and watching a watched widget returns its handle", async () => {
  const { document } = page();
  const fake = server({ task: progress(10, 50) });
  const { widget } = parts(document);
  const handle = watch(widget, { fetch: fake.fetch });
  assert.equal(watch(widget, { fetch: fake.fetch }), handle);
  await until(() => fake.calls.length >= 2, "polling");
  handle.stop();
  const stopped = fake.calls.length;
  await sleep(50);
  assert.equal(fake.calls.length, stopped);
});

test("a widget removed from the page stops polling", async () => {
  const { document } = page();
  const fake = server({ task: progress(10, 50) });
  const { widget } = parts(document);
  const handle = watch(widget, { fetch: fake.fetch });
  await until(() => fake.calls.length >= 2, "polling");
  widget.remove();
  await until(() => handle.stopped, "the stop");
  const after = fake.calls.length;
  await sleep(50);
  assert.equal(fake.calls.length, after);
});

// --- the built script in a page ----------------------------------------------------------

test("the built script starts every widget once, later ones too, included twice", async () => {
  const { window, document } = page(WIDGET.replace('id="w"', 'id="first"'));
  const fake = server({ task: progress(10, 50) });
  window.fetch = fake.fetch;
  const script = readFileSync(BUILT, "utf8");
  window.eval(script);
  const installed = window.Jobtastic;
  window.eval(script); // an htmx fragment bringing the script again
  assert.equal(window.Jobtastic, installed, "the second copy installs nothing");
  assert.equal(typeof installed.watch, "function");
  await until(() => fake.calls.length >= 2, "the first widget's polls");
  assert.ok(fake.calls.every((call) => call.url === "/jobtastic/status/t/"));
  assert.equal(fake.maxInFlight(), 1, "one watcher for the one widget, not one per copy");

  const later = document.createElement("div");
  later.innerHTML = WIDGET.replace('id="w"', 'id="later"').replace("/status/t/", "/status/u/");
  document.body.append(later);
  await until(() => fake.calls.some((call) => call.url === "/jobtastic/status/u/"), "the later widget");
  await sleep(5);
  // Sequential per widget: with two widgets, at most two requests were ever in flight.
  assert.ok(fake.maxInFlight() <= 2);
});

test("a widget rendered for a job not granted has no URL and is left alone", async () => {
  const denied = WIDGET.replace(' data-jobtastic-url="/jobtastic/status/t/"', ' data-jobtastic-state="ERROR"')
    .replace("Waiting for your task to begin…", "The progress of this job cannot be shown.");
  const { window, document } = page(denied);
  const fake = server({ task: progress(10, 50) });
  window.fetch = fake.fetch;
  window.eval(readFileSync(BUILT, "utf8"));
  await sleep(50);
  assert.equal(fake.calls.length, 0, "nothing to poll: no request at all");
  const widget = document.getElementById("w");
  assert.equal(widget.dataset.jobtasticState, "ERROR");
  assert.equal(widget.querySelector(".jobtastic-status").textContent, "The progress of this job cannot be shown.");
});
