// One follower for every widget of a page: a stream of pushed updates, else one batch
// request per poll interval.
//
// Widgets whose markup names the batch URL (and their token) join the page's follower instead
// of polling their own status URL: ten bars make one request a second, not ten. When the
// markup also names the events URL (the server runs under ASGI) and the browser has
// EventSource, the page opens one stream for all its bars and makes no polls at all; a stream
// that fails is closed, the bars are polled meanwhile, and the stream is tried again after a
// backoff. Requests carry at most MAX_BATCH_TOKENS tokens and fit MAX_REQUEST_TARGET
// characters; each widget gets its task (or its token's error).

import { GIVE_UP_AFTER_SECONDS, retryDelay } from "./timing.js";

/** The most tokens the server takes in one batch request. */
export const MAX_BATCH_TOKENS = 50;
/**
 * The longest path and query a request asks for: a token is about 180 characters, and
 * servers refuse long request lines (gunicorn: 4,094 bytes by default, nginx 8 KB), so a
 * request holds as many tokens as fit (about 20), not always MAX_BATCH_TOKENS.
 */
export const MAX_REQUEST_TARGET = 4000;

/** Per fetch function (the page's, or a test's), its pollers by batch URL. */
const pollers = new WeakMap();

/** The poller of `url` on this page, made on first use. */
export function sharedPoller(window, url, options) {
  const fetch = options.fetch || window.fetch.bind(window);
  const owner = options.fetch || window;
  let byUrl = pollers.get(owner);
  if (!byUrl) {
    byUrl = new Map();
    pollers.set(owner, byUrl);
  }
  let poller = byUrl.get(url);
  if (!poller || poller.window !== window) {
    poller = new SharedPoller(window, url, fetch, options);
    byUrl.set(url, poller);
  }
  return poller;
}

export class SharedPoller {
  constructor(window, url, fetch, options) {
    this.window = window;
    this.document = window.document;
    this.url = url;
    this.fetch = fetch;
    this.fixedInterval = Number(options.pollInterval) || null;
    this.interval = this.fixedInterval || Number(options.defaultInterval) || 1;
    this.giveUpAfter = options.giveUpAfter ?? GIVE_UP_AFTER_SECONDS;
    this.timeout = options.timeout ?? Math.max(10, 3 * this.interval);
    this.members = new Map(); // token -> Set of watchers
    this.timer = null;
    this.inFlight = false;
    this.again = false; // a widget joined during a request: ask again at once after it
    this.paused = false;
    this.failures = 0;
    this.failingSince = null;
    this.onVisibility = () => {
      if (!this.document.hidden && this.paused) {
        this.paused = false;
        this.poll();
      }
    };
    this.eventsUrl = options.eventsUrl || null;
    this.EventSource = window.EventSource || null;
    this.streams = []; // the open EventSources (one, unless the bars outgrow a request)
    this.streamKey = null; // the tokens they follow
    this.streamFailures = 0;
    this.streamAgainAt = 0; // after a failure, polls until then
  }

  /** Follow `watcher`'s token from now on: asked for in the next request, made soon. */
  join(watcher) {
    if (this.members.size === 0) {
      this.document.addEventListener("visibilitychange", this.onVisibility);
    }
    let watchers = this.members.get(watcher.token);
    if (!watchers) {
      watchers = new Set();
      this.members.set(watcher.token, watchers);
    }
    watchers.add(watcher);
    // Every widget started in this task (a page's load, an htmx swap) shares one request.
    if (this.inFlight) this.again = true;
    else this.schedule(0);
  }

  leave(watcher) {
    const watchers = this.members.get(watcher.token);
    if (!watchers) return;
    watchers.delete(watcher);
    if (watchers.size === 0) this.members.delete(watcher.token);
    if (this.members.size === 0) {
      this.window.clearTimeout(this.timer);
      this.document.removeEventListener("visibilitychange", this.onVisibility);
      this.closeStreams();
    }
  }

  /** Whether to stream now: the server offers it, the browser can, no recent failure. */
  canStream() {
    return Boolean(this.eventsUrl && this.EventSource) && Date.now() >= this.streamAgainAt;
  }

  /** Follow every member through the events URL (once open, nothing is polled). */
  openStreams() {
    const tokens = [...this.members.keys()];
    const key = tokens.join(" ");
    if (this.streams.length && this.streamKey === key) return;
    this.closeStreams();
    this.streamKey = key;
    const url = this.eventsUrl;
    this.streams = this.chunks(tokens).map((chunk) => {
      const source = new this.EventSource(this.requestUrl(chunk, url).href);
      source.addEventListener("status", (event) => this.onStreamEvent(event));
      source.addEventListener("error", () => this.onStreamError());
      return source;
    });
  }

  closeStreams() {
    for (const source of this.streams) source.close();
    this.streams = [];
    this.streamKey = null;
  }

  onStreamEvent(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    this.streamFailures = 0;
    const watchers = [...(this.members.get(data && data.token) || [])];
    for (const watcher of watchers) {
      if (data.task && data.task.status) watcher.receive(data.task, null, true);
      else watcher.giveUp(404, data.error || watcher.messages.unavailable);
    }
  }

  /**
   * The stream broke, or the server ended it early (it ends a stream once every job in it
   * is ready, after their last events: those bars have left by then). Poll meanwhile, and
   * stream again after a backoff.
   */
  onStreamError() {
    this.closeStreams();
    if (this.members.size === 0) return;
    this.streamFailures += 1;
    this.streamAgainAt = Date.now() + 1000 * retryDelay(this.streamFailures, null, this.interval);
    this.schedule(0);
  }

  schedule(seconds) {
    this.window.clearTimeout(this.timer);
    if (this.members.size === 0) return;
    this.timer = this.window.setTimeout(() => this.poll(), seconds * 1000);
  }

  watchers() {
    return [...this.members.values()].flatMap((watchers) => [...watchers]);
  }

  async poll() {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    for (const watcher of this.watchers()) {
      if (!watcher.element.isConnected) watcher.stop(); // leaves the poller
    }
    if (this.members.size === 0) return;
    if (this.canStream()) {
      this.openStreams(); // pushed from now on: no timer
      return;
    }
    if (this.document.hidden) {
      this.paused = true; // resumed by visibilitychange
      return;
    }
    this.inFlight = true;
    this.again = false;
    const chunks = this.chunks([...this.members.keys()]);
    let answers;
    try {
      answers = await Promise.all(chunks.map((chunk) => this.ask(chunk)));
    } finally {
      this.inFlight = false;
    }
    let retry = null;
    answers.forEach((answer, index) => {
      const retryAfter = this.deliver(chunks[index], answer);
      if (retryAfter !== undefined) retry = { retryAfter };
    });
    if (retry) {
      this.failures += 1;
      this.failingSince ??= Date.now();
      if (Date.now() - this.failingSince > this.giveUpAfter * 1000) {
        for (const watcher of this.watchers()) watcher.giveUp(0, watcher.messages.unavailable);
        return;
      }
      this.schedule(this.again ? 0 : retryDelay(this.failures, retry.retryAfter, this.interval));
      return;
    }
    this.failures = 0;
    this.failingSince = null;
    this.schedule(this.again ? 0 : this.interval);
  }

  /** The tokens split into requests: at most MAX_BATCH_TOKENS, and short enough to send. */
  chunks(tokens) {
    const base = this.requestUrl([]);
    const target = (url) => url.pathname.length + url.search.length;
    const chunks = [];
    let chunk = [];
    let length = target(base) + 1; // the "?"
    for (const token of tokens) {
      const added = `t=${encodeURIComponent(token)}&`.length;
      if (chunk.length && (chunk.length === MAX_BATCH_TOKENS || length + added > MAX_REQUEST_TARGET)) {
        chunks.push(chunk);
        chunk = [];
        length = target(base) + 1;
      }
      chunk.push(token);
      length += added;
    }
    if (chunk.length) chunks.push(chunk);
    return chunks;
  }

  requestUrl(tokens, base = this.url) {
    const url = new this.window.URL(base, this.document.baseURI);
    for (const token of tokens) url.searchParams.append("t", token);
    return url;
  }

  /** One request for `tokens`: `{response, body}`, `response` null when the network failed. */
  async ask(tokens) {
    const url = this.requestUrl(tokens);
    const abort = new this.window.AbortController();
    const deadline = this.window.setTimeout(() => abort.abort(), this.timeout * 1000);
    try {
      const response = await this.fetch(url.href, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        signal: abort.signal,
      });
      const body = await response.json().catch(() => null);
      return { response, body };
    } catch {
      return { response: null, body: null }; // the network failed or the deadline passed
    } finally {
      this.window.clearTimeout(deadline);
    }
  }

  /**
   * Hand each token's answer to its widgets. Returns the Retry-After (or null) when these
   * tokens must be asked for again later (5xx, 429, the network), else undefined.
   */
  deliver(tokens, { response, body }) {
    const followers = (token) => [...(this.members.get(token) || [])];
    if (response && response.ok && body && body.tasks && typeof body.tasks === "object") {
      if (!this.fixedInterval && Number(body.poll_interval) > 0) {
        this.interval = Number(body.poll_interval);
      }
      const answeredAt = response.headers ? response.headers.get("Date") : null;
      for (const token of tokens) {
        const answer = body.tasks[token];
        for (const watcher of followers(token)) {
          if (answer && answer.status) watcher.receive(answer, answeredAt);
          else watcher.giveUp(404, (answer && answer.error) || watcher.messages.unavailable);
        }
      }
      return undefined;
    }
    if (!response || response.status >= 500 || response.status === 429) {
      for (const token of tokens) for (const watcher of followers(token)) watcher.reconnecting();
      return response && response.headers ? response.headers.get("Retry-After") : null;
    }
    // Another 4xx, or a 2xx that is no batch answer (a login page): asking again won't help.
    for (const token of tokens) {
      for (const watcher of followers(token)) {
        watcher.giveUp(response.status, (body && body.error) || watcher.messages.unavailable);
      }
    }
    return undefined;
  }
}
