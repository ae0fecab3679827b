// The progress widget: follows one job's status URL and keeps its markup current.
//
// Everything comes from the markup that {% jobtastic_progress %} renders: the status URL,
// the poll interval, the page's language and the translated texts. Text is only ever
// written with textContent, so nothing a job reports can become markup.

import { sharedPoller } from "./shared_poller.js";
import { GIVE_UP_AFTER_SECONDS, retryDelay } from "./timing.js";

export { MAX_BATCH_TOKENS, MAX_REQUEST_TARGET } from "./shared_poller.js";
export { GIVE_UP_AFTER_SECONDS, MAX_BACKOFF_SECONDS, retryDelay } from "./timing.js";

export const SELECTOR = ".jobtastic[data-jobtastic-url]";
export const TERMINAL_STATES = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/** English texts, used where the markup does not bring translated ones. */
export const DEFAULT_MESSAGES = {
  pending: "Waiting for your task to begin…",
  waited: "Waiting for your task to begin… (in the queue for {waited})",
  starting: "Your job is getting started.",
  estimating: "Working on an estimate…",
  almostDone: "Almost finished.",
  overdue: "Taking longer than expected…",
  progress: "{percent}% complete, about {remaining} left",
  about: "About {remaining} left",
  startsIn: "Starts in about {remaining}",
  success: "Done.",
  resultLink: "Open the result",
  failure: "Something went wrong while running this job.",
  cancelled: "The job was cancelled.",
  cancel: "Cancel",
  cancelFailed: "The job could not be cancelled. Please try again.",
  reconnecting: "Lost contact with the server. Reconnecting…",
  unavailable: "The progress of this job cannot be shown.",
};

const running = new WeakMap();

/** `seconds` as words in `language` ("2 minutes", "45 seconds"), rounded as people say it. */
export function durationInWords(seconds, language) {
  let value;
  let unit;
  if (seconds < 57.5) {
    value = Math.max(5, Math.round(seconds / 5) * 5);
    unit = "second";
  } else if (seconds < 3570) {
    value = Math.max(1, Math.round(seconds / 60));
    unit = "minute";
  } else {
    const hours = seconds / 3600;
    value = hours < 10 ? Math.round(hours * 2) / 2 : Math.round(hours);
    unit = "hour";
  }
  const options = { style: "unit", unit, unitDisplay: "long", maximumFractionDigits: 1 };
  try {
    return new Intl.NumberFormat(language || "en", options).format(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return new Intl.NumberFormat("en", options).format(value); // an unknown language tag
  }
}

/** The bar's value and the sentence for a PROGRESS payload's `progress` object. */
export function describeProgress(progress, messages, language) {
  const percent = clampPercent(progress && progress.percent);
  const remaining = progress && typeof progress.time_remaining === "number"
    ? progress.time_remaining
    : -1;
  let text;
  const early = percent < 2 || !progress || progress.completed === null
    || progress.completed === undefined;
  if (progress && progress.overdue === true) {
    text = messages.overdue; // the estimate ran out and the job runs on: never "about 0 s"
  } else if (remaining >= 5 && early && progress && progress.from_history === true) {
    // Earlier runs of the job know its duration: say it from the start (and for a job that
    // reports no progress, whose bar moves with time, at all).
    const about = messages.about.replace("{remaining}", durationInWords(remaining, language));
    text = percent < 2 ? `${messages.starting} ${about}` : about;
  } else if (remaining < 0 || percent < 2) {
    text = `${messages.starting} ${messages.estimating}`;
  } else if (remaining < 5 || percent > 98) {
    text = messages.almostDone;
  } else {
    text = messages.progress
      .replace("{percent}", String(Math.floor(percent)))
      .replace("{remaining}", durationInWords(remaining, language));
  }
  return { percent, text };
}

/**
 * Seconds a job has waited in the queue: from its `queued_at` to the moment of the answer,
 * taken from the answer's `Date` header (the server's clock, as `queued_at` is), else from
 * the browser's clock. Null when the job's queue time is unknown.
 */
export function waitedSeconds(queuedAt, answeredAt) {
  if (typeof queuedAt !== "string") return null;
  const queued = Date.parse(queuedAt.replace(/(\.\d{3})\d+/, "$1")); // µs: Date takes ms
  if (Number.isNaN(queued)) return null;
  const answered = answeredAt ? Date.parse(answeredAt) : Number.NaN;
  return Math.max(0, ((Number.isNaN(answered) ? Date.now() : answered) - queued) / 1000);
}

/**
 * The sentence for a job that has not started: when it should, if earlier runs of its class
 * say (`startsIn`, seconds), else how long it has waited, once that shows.
 */
export function describeWaiting(waited, messages, language, startsIn = null) {
  if (typeof startsIn === "number" && startsIn > 0) {
    return messages.startsIn.replace("{remaining}", durationInWords(startsIn, language));
  }
  if (waited === null || waited < 5) return messages.pending;
  return messages.waited.replace("{waited}", durationInWords(waited, language));
}

/**
 * `task` as it reads `seconds` after it was sent: the time left less those seconds (never
 * below 0, then `overdue`). A queued job's wait is counted from `queued_at` on its own. The
 * bar of a job that reports no progress moves with time, as the server moves it: its percent
 * is the share of its expected duration (time passed plus time left) that has passed.
 */
export function agedTask(task, seconds) {
  const progress = task.progress;
  if (!progress || typeof progress.time_remaining !== "number" || progress.time_remaining < 0
    || progress.overdue) {
    return task;
  }
  const left = progress.time_remaining - seconds;
  const startsIn = typeof task.starts_in === "number" ? Math.max(0, task.starts_in - seconds) : null;
  const aged = { ...progress, time_remaining: Math.max(0, left), overdue: left <= 0 };
  const percent = clampPercent(progress.percent);
  if (progress.from_history === true && progress.completed == null && percent < TIMED_PERCENT_CAP) {
    const expected = progress.time_remaining / (1 - percent / 100);
    aged.percent = Math.min(TIMED_PERCENT_CAP, percent + (100 * seconds) / expected);
  }
  return { ...task, ...(startsIn === null ? {} : { starts_in: startsIn }), progress: aged };
}

/** Where a bar that moves with time stops until the job ends (the server's cap too). */
export const TIMED_PERCENT_CAP = 99;

export function clampPercent(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return 0;
  return Math.min(100, Math.max(0, number));
}

/** The link a result stands for (a URL string, or an object with "url"), if it is safe. */
export function resultLink(result, baseURI) {
  let candidate = null;
  if (typeof result === "string") candidate = result;
  else if (result && typeof result === "object" && typeof result.url === "string") {
    candidate = result.url;
  }
  // http(s) URLs, or paths on this site: "//host" and "/\\host" would leave it.
  if (candidate === null || !/^(https?:\/\/|\/(?![/\\]))/i.test(candidate.trim())) return null;
  try {
    const url = new URL(candidate.trim(), baseURI);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function readMessages(element) {
  try {
    const parsed = JSON.parse(element.dataset.jobtasticMessages || "{}");
    return { ...DEFAULT_MESSAGES, ...(parsed && typeof parsed === "object" ? parsed : {}) };
  } catch {
    return { ...DEFAULT_MESSAGES };
  }
}

/**
 * Follows one widget's job until it ends, is stopped, or its element leaves the page: with
 * the page's other widgets through the batch endpoint when the markup names it (and the
 * widget's token), else by polling its own status URL.
 */
class Watcher {
  constructor(element, options) {
    this.element = element;
    this.document = element.ownerDocument;
    this.window = this.document.defaultView;
    this.url = options.url || element.dataset.jobtasticUrl;
    this.token = element.dataset.jobtasticToken || null;
    const batchUrl = element.dataset.jobtasticBatchUrl;
    this.fixedInterval = Number(options.pollInterval) || null; // an explicit option wins
    this.pollInterval = this.fixedInterval
      || Number(element.dataset.jobtasticPollInterval) || 1;
    this.language = options.language || element.dataset.jobtasticLanguage || "en";
    this.messages = { ...readMessages(element), ...(options.messages || {}) };
    this.fetch = options.fetch || this.window.fetch.bind(this.window);
    this.giveUpAfter = options.giveUpAfter ?? GIVE_UP_AFTER_SECONDS;
    // A request the server never answers counts as a network error after this long.
    this.timeout = options.timeout ?? Math.max(10, 3 * this.pollInterval);
    this.bar = element.querySelector(".jobtastic-bar");
    this.fill = element.querySelector(".jobtastic-bar-fill");
    this.status = element.querySelector(".jobtastic-status");
    this.taskMessage = element.querySelector(".jobtastic-task-message");
    this.result = element.querySelector(".jobtastic-result");
    this.cancelUrl = element.dataset.jobtasticCancelUrl || null;
    this.cancelButton = element.querySelector(".jobtastic-cancel");
    this.cancelling = false;
    this.failures = 0;
    this.failingSince = null;
    this.timer = null;
    this.inFlight = false;
    this.paused = false;
    this.stopped = false;
    this.onVisibility = () => {
      if (!this.document.hidden && this.paused) {
        this.paused = false;
        this.poll();
      }
    };
    // An explicit URL option means "this URL": only markup names the batch endpoint.
    this.poller = !options.url && this.token && batchUrl
      ? sharedPoller(this.window, batchUrl, {
        fetch: options.fetch,
        eventsUrl: options.eventsUrl === undefined
          ? element.dataset.jobtasticEventsUrl
          : options.eventsUrl,
        pollInterval: this.fixedInterval,
        defaultInterval: this.pollInterval,
        giveUpAfter: this.giveUpAfter,
        timeout: options.timeout,
      })
      : null;
    if (!this.poller) this.document.addEventListener("visibilitychange", this.onVisibility);
    this.onCancel = () => this.cancel();
    if (this.cancelUrl && this.cancelButton) {
      this.cancelButton.addEventListener("click", this.onCancel);
      this.cancelButton.hidden = false;
    }
  }

  start() {
    if (this.poller) this.poller.join(this);
    else this.poll();
  }

  stop() {
    this.stopped = true;
    this.window.clearTimeout(this.timer);
    this.window.clearInterval(this.ticker);
    this.document.removeEventListener("visibilitychange", this.onVisibility);
    if (this.poller) this.poller.leave(this);
    if (this.cancelButton) this.cancelButton.removeEventListener("click", this.onCancel);
    if (running.get(this.element) === this) running.delete(this.element);
  }

  schedule(seconds) {
    if (this.stopped) return;
    this.window.clearTimeout(this.timer);
    this.timer = this.window.setTimeout(() => this.poll(), seconds * 1000);
  }

  async poll() {
    if (this.stopped || this.inFlight) return; // sequential: never two requests at once
    if (!this.element.isConnected) return this.stop();
    if (this.document.hidden) {
      this.paused = true; // resumed by visibilitychange
      return;
    }
    this.inFlight = true;
    const abort = new this.window.AbortController();
    const deadline = this.window.setTimeout(() => abort.abort(), this.timeout * 1000);
    let response;
    let body = null;
    try {
      response = await this.fetch(this.url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        signal: abort.signal,
      });
      body = await response.json().catch(() => null);
    } catch {
      response = null; // the network failed or the deadline passed: retried like a 5xx
    } finally {
      this.window.clearTimeout(deadline);
      this.inFlight = false;
    }
    if (this.stopped) return;
    if (response && response.ok && body && body.task) {
      this.failures = 0;
      this.failingSince = null;
      this.receive(body.task, response.headers ? response.headers.get("Date") : null);
      this.schedule(this.fixedInterval || Number(body.poll_interval) || this.pollInterval);
    } else if (!response || response.status >= 500 || response.status === 429) {
      this.retryLater(response);
    } else {
      // Other 4xx, or a 2xx that is no status (a login page a proxy or an expired session
      // sent instead): asking again gets the same answer.
      this.giveUp(response.status, (body && body.error) || this.messages.unavailable);
    }
  }

  /**
   * A status answer: shown, and the end of following once the job is over. A pushed one
   * (`live`) comes only when the job changes: until the next, the widget ages it itself
   * each second (the wait of a queued job, the time left of a running one), as each poll's
   * answer would have been aged by the server.
   */
  receive(task, answeredAt, live = false) {
    if (this.stopped) return;
    this.window.clearInterval(this.ticker);
    this.render(task, answeredAt);
    if (TERMINAL_STATES.has(task.status)) {
      this.stop();
    } else if (live) {
      const receivedAt = Date.now();
      this.ticker = this.window.setInterval(() => {
        if (!this.stopped) this.render(agedTask(task, (Date.now() - receivedAt) / 1000), null);
      }, 1000);
    }
  }

  /** Asking failed for a while (the server or the network): say so, keep the last figures. */
  reconnecting() {
    if (this.stopped) return;
    this.element.dataset.jobtasticConnection = "reconnecting";
    this.setText(this.status, this.messages.reconnecting);
  }

  retryLater(response) {
    this.failures += 1;
    this.failingSince ??= Date.now();
    if (Date.now() - this.failingSince > this.giveUpAfter * 1000) {
      this.giveUp(response ? response.status : 0, this.messages.unavailable);
      return;
    }
    this.reconnecting();
    const retryAfter = response && response.headers ? response.headers.get("Retry-After") : null;
    this.schedule(retryDelay(this.failures, retryAfter, this.pollInterval));
  }

  giveUp(status, message) {
    if (this.stopped) return;
    this.stop();
    this.hideCancel();
    this.setState("ERROR");
    this.setText(this.status, this.messages.unavailable);
    this.emit("jobtastic:error", { status, message });
  }

  render(task, answeredAt = null) {
    delete this.element.dataset.jobtasticConnection;
    this.setState(task.status);
    if (TERMINAL_STATES.has(task.status)) {
      this.setText(this.taskMessage, ""); // it was about the run
      this.hideCancel();
    }
    if (task.status === "SUCCESS") {
      this.setBar(100);
      this.setText(this.status, this.messages.success);
      this.showLink(task.result);
      this.emit("jobtastic:success", task);
    } else if (task.status === "FAILURE" || task.status === "REVOKED") {
      const fallback = task.status === "REVOKED" ? this.messages.cancelled : this.messages.failure;
      this.setText(this.status, (task.error && task.error.message) || fallback);
      this.emit("jobtastic:failure", task);
    } else if (task.progress && task.status !== "PENDING") {
      const { percent, text } = describeProgress(task.progress, this.messages, this.language);
      this.setBar(percent);
      this.setText(this.status, text);
      const message = task.progress.message;
      this.setText(this.taskMessage, typeof message === "string" ? message : "");
      this.emit("jobtastic:progress", task);
    } else {
      this.setBar(0);
      const waited = waitedSeconds(task.queued_at, answeredAt);
      const text = describeWaiting(waited, this.messages, this.language, task.starts_in);
      this.setText(this.status, text);
      this.emit("jobtastic:progress", task);
    }
  }

  setState(state) {
    this.element.dataset.jobtasticState = state;
  }

  setBar(percent) {
    if (this.fill) this.fill.style.width = `${percent}%`;
    if (this.bar) this.bar.setAttribute("aria-valuenow", String(Math.round(percent)));
  }

  setText(node, text) {
    // Unchanged text is not written again: an aria-live region would be read out anew.
    if (!node || node.textContent === text) return;
    node.textContent = text;
    node.hidden = text === "";
  }

  showLink(result) {
    const href = resultLink(result, this.document.baseURI);
    if (!href || !this.result) return;
    const link = this.document.createElement("a");
    link.href = href;
    link.textContent = this.messages.resultLink;
    this.result.replaceChildren(link);
    this.result.hidden = false;
  }

  /**
   * Ask the server to cancel the job (the Cancel button). Accepted (202): the widget says
   * the job was cancelled and stops following it; for a job shared with other owners the
   * job runs on for them, while this owner has let it go. 409 (ended, or not cancellable):
   * the button goes and following goes on. Anything else: the button comes back.
   */
  async cancel() {
    if (this.cancelling || this.stopped || !this.cancelUrl) return;
    this.cancelling = true;
    if (this.cancelButton) {
      this.cancelButton.disabled = true;
      this.cancelButton.setAttribute("aria-busy", "true");
    }
    let response = null;
    let body = null;
    try {
      response = await this.fetch(this.cancelUrl, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "X-CSRFToken": this.element.dataset.jobtasticCsrfToken || "",
        },
        credentials: "same-origin",
        cache: "no-store",
      });
      body = await response.json().catch(() => null);
    } catch {
      response = null;
    } finally {
      this.cancelling = false;
      if (this.cancelButton) this.cancelButton.removeAttribute("aria-busy");
    }
    if (response && response.status === 202) {
      this.stop();
      this.hideCancel();
      this.setState("REVOKED");
      this.setText(this.taskMessage, "");
      this.setText(this.status, this.messages.cancelled);
      this.emit("jobtastic:cancelled", body && body.task);
    } else if (response && response.status === 409) {
      this.hideCancel();
      if (body && typeof body.error === "string") this.setText(this.taskMessage, body.error);
    } else {
      if (this.cancelButton) this.cancelButton.disabled = false;
      this.setText(this.taskMessage, (body && body.error) || this.messages.cancelFailed);
    }
  }

  hideCancel() {
    if (this.cancelButton) this.cancelButton.hidden = true;
  }

  emit(name, detail) {
    const CustomEvent = this.window.CustomEvent;
    this.element.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));
  }
}

/**
 * Start following `element`'s job; returns a handle with `stop()`. A widget already being
 * followed keeps its watcher: the same handle comes back.
 */
export function watch(element, options = {}) {
  const existing = running.get(element);
  if (existing) return existing;
  const watcher = new Watcher(element, options);
  running.set(element, watcher);
  watcher.start();
  return watcher;
}

/** Start every widget under `root` that is not followed yet. */
export function startAll(root) {
  const found = root.matches && root.matches(SELECTOR) ? [root] : [];
  found.push(...(root.querySelectorAll ? root.querySelectorAll(SELECTOR) : []));
  return found.map((element) => watch(element));
}

/** Start the page's widgets now and those inserted later (htmx swaps, your own scripts). */
export function observe(document) {
  startAll(document);
  const observer = new document.defaultView.MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1) startAll(node);
      }
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
  return observer;
}
