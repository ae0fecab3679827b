/* django-jobtastic progress widget. Built from static_src/ by `npm run build`; do not edit. */
(() => {
  // static_src/timing.js
  var MAX_BACKOFF_SECONDS = 30;
  var GIVE_UP_AFTER_SECONDS = 900;
  function retryDelay(attempt, retryAfter, baseSeconds) {
    if (retryAfter) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds) && seconds >= 0) return seconds;
      const date = Date.parse(retryAfter);
      if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1e3);
    }
    return Math.min(MAX_BACKOFF_SECONDS, Math.max(baseSeconds, 1) * 2 ** (attempt - 1));
  }

  // static_src/shared_poller.js
  var MAX_BATCH_TOKENS = 50;
  var MAX_REQUEST_TARGET = 4e3;
  var pollers = /* @__PURE__ */ new WeakMap();
  function sharedPoller(window2, url, options) {
    const fetch = options.fetch || window2.fetch.bind(window2);
    const owner = options.fetch || window2;
    let byUrl = pollers.get(owner);
    if (!byUrl) {
      byUrl = /* @__PURE__ */ new Map();
      pollers.set(owner, byUrl);
    }
    let poller = byUrl.get(url);
    if (!poller || poller.window !== window2) {
      poller = new SharedPoller(window2, url, fetch, options);
      byUrl.set(url, poller);
    }
    return poller;
  }
  var SharedPoller = class {
    constructor(window2, url, fetch, options) {
      this.window = window2;
      this.document = window2.document;
      this.url = url;
      this.fetch = fetch;
      this.fixedInterval = Number(options.pollInterval) || null;
      this.interval = this.fixedInterval || Number(options.defaultInterval) || 1;
      this.giveUpAfter = options.giveUpAfter ?? GIVE_UP_AFTER_SECONDS;
      this.timeout = options.timeout ?? Math.max(10, 3 * this.interval);
      this.members = /* @__PURE__ */ new Map();
      this.timer = null;
      this.inFlight = false;
      this.again = false;
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
      this.EventSource = window2.EventSource || null;
      this.streams = [];
      this.streamKey = null;
      this.streamFailures = 0;
      this.streamAgainAt = 0;
    }
    /** Follow `watcher`'s token from now on: asked for in the next request, made soon. */
    join(watcher) {
      if (this.members.size === 0) {
        this.document.addEventListener("visibilitychange", this.onVisibility);
      }
      let watchers = this.members.get(watcher.token);
      if (!watchers) {
        watchers = /* @__PURE__ */ new Set();
        this.members.set(watcher.token, watchers);
      }
      watchers.add(watcher);
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
      const watchers = [...this.members.get(data && data.token) || []];
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
      this.streamAgainAt = Date.now() + 1e3 * retryDelay(this.streamFailures, null, this.interval);
      this.schedule(0);
    }
    schedule(seconds) {
      this.window.clearTimeout(this.timer);
      if (this.members.size === 0) return;
      this.timer = this.window.setTimeout(() => this.poll(), seconds * 1e3);
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
        if (!watcher.element.isConnected) watcher.stop();
      }
      if (this.members.size === 0) return;
      if (this.canStream()) {
        this.openStreams();
        return;
      }
      if (this.document.hidden) {
        this.paused = true;
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
        if (retryAfter !== void 0) retry = { retryAfter };
      });
      if (retry) {
        this.failures += 1;
        this.failingSince ?? (this.failingSince = Date.now());
        if (Date.now() - this.failingSince > this.giveUpAfter * 1e3) {
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
      let length = target(base) + 1;
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
      const deadline = this.window.setTimeout(() => abort.abort(), this.timeout * 1e3);
      try {
        const response = await this.fetch(url.href, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
          signal: abort.signal
        });
        const body = await response.json().catch(() => null);
        return { response, body };
      } catch {
        return { response: null, body: null };
      } finally {
        this.window.clearTimeout(deadline);
      }
    }
    /**
     * Hand each token's answer to its widgets. Returns the Retry-After (or null) when these
     * tokens must be asked for again later (5xx, 429, the network), else undefined.
     */
    deliver(tokens, { response, body }) {
      const followers = (token) => [...this.members.get(token) || []];
      if (response && response.ok && body && body.tasks && typeof body.tasks === "object") {
        if (!this.fixedInterval && Number(body.poll_interval) > 0) {
          this.interval = Number(body.poll_interval);
        }
        const answeredAt = response.headers ? response.headers.get("Date") : null;
        for (const token of tokens) {
          const answer = body.tasks[token];
          for (const watcher of followers(token)) {
            if (answer && answer.status) watcher.receive(answer, answeredAt);
            else watcher.giveUp(404, answer && answer.error || watcher.messages.unavailable);
          }
        }
        return void 0;
      }
      if (!response || response.status >= 500 || response.status === 429) {
        for (const token of tokens) for (const watcher of followers(token)) watcher.reconnecting();
        return response && response.headers ? response.headers.get("Retry-After") : null;
      }
      for (const token of tokens) {
        for (const watcher of followers(token)) {
          watcher.giveUp(response.status, body && body.error || watcher.messages.unavailable);
        }
      }
      return void 0;
    }
  };

  // static_src/widget.js
  var SELECTOR = ".jobtastic[data-jobtastic-url]";
  var TERMINAL_STATES = /* @__PURE__ */ new Set(["SUCCESS", "FAILURE", "REVOKED"]);
  var DEFAULT_MESSAGES = {
    pending: "Waiting for your task to begin\u2026",
    waited: "Waiting for your task to begin\u2026 (in the queue for {waited})",
    starting: "Your job is getting started.",
    estimating: "Working on an estimate\u2026",
    almostDone: "Almost finished.",
    overdue: "Taking longer than expected\u2026",
    progress: "{percent}% complete, about {remaining} left",
    about: "About {remaining} left",
    startsIn: "Starts in about {remaining}",
    success: "Done.",
    resultLink: "Open the result",
    failure: "Something went wrong while running this job.",
    cancelled: "The job was cancelled.",
    cancel: "Cancel",
    cancelFailed: "The job could not be cancelled. Please try again.",
    reconnecting: "Lost contact with the server. Reconnecting\u2026",
    unavailable: "The progress of this job cannot be shown."
  };
  var running = /* @__PURE__ */ new WeakMap();
  function durationInWords(seconds, language) {
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
      return new Intl.NumberFormat("en", options).format(value);
    }
  }
  function describeProgress(progress, messages, language) {
    const percent = clampPercent(progress && progress.percent);
    const remaining = progress && typeof progress.time_remaining === "number" ? progress.time_remaining : -1;
    let text;
    const early = percent < 2 || !progress || progress.completed === null || progress.completed === void 0;
    if (progress && progress.overdue === true) {
      text = messages.overdue;
    } else if (remaining >= 5 && early && progress && progress.from_history === true) {
      const about = messages.about.replace("{remaining}", durationInWords(remaining, language));
      text = percent < 2 ? `${messages.starting} ${about}` : about;
    } else if (remaining < 0 || percent < 2) {
      text = `${messages.starting} ${messages.estimating}`;
    } else if (remaining < 5 || percent > 98) {
      text = messages.almostDone;
    } else {
      text = messages.progress.replace("{percent}", String(Math.floor(percent))).replace("{remaining}", durationInWords(remaining, language));
    }
    return { percent, text };
  }
  function waitedSeconds(queuedAt, answeredAt) {
    if (typeof queuedAt !== "string") return null;
    const queued = Date.parse(queuedAt.replace(/(\.\d{3})\d+/, "$1"));
    if (Number.isNaN(queued)) return null;
    const answered = answeredAt ? Date.parse(answeredAt) : Number.NaN;
    return Math.max(0, ((Number.isNaN(answered) ? Date.now() : answered) - queued) / 1e3);
  }
  function describeWaiting(waited, messages, language, startsIn = null) {
    if (typeof startsIn === "number" && startsIn > 0) {
      return messages.startsIn.replace("{remaining}", durationInWords(startsIn, language));
    }
    if (waited === null || waited < 5) return messages.pending;
    return messages.waited.replace("{waited}", durationInWords(waited, language));
  }
  function agedTask(task, seconds) {
    const progress = task.progress;
    if (!progress || typeof progress.time_remaining !== "number" || progress.time_remaining < 0 || progress.overdue) {
      return task;
    }
    const left = progress.time_remaining - seconds;
    const startsIn = typeof task.starts_in === "number" ? Math.max(0, task.starts_in - seconds) : null;
    const aged = { ...progress, time_remaining: Math.max(0, left), overdue: left <= 0 };
    const percent = clampPercent(progress.percent);
    if (progress.from_history === true && progress.completed == null && percent < TIMED_PERCENT_CAP) {
      const expected = progress.time_remaining / (1 - percent / 100);
      aged.percent = Math.min(TIMED_PERCENT_CAP, percent + 100 * seconds / expected);
    }
    return { ...task, ...startsIn === null ? {} : { starts_in: startsIn }, progress: aged };
  }
  var TIMED_PERCENT_CAP = 99;
  function clampPercent(value) {
    const number = Number(value);
    if (!Number.isFinite(number)) return 0;
    return Math.min(100, Math.max(0, number));
  }
  function resultLink(result, baseURI) {
    let candidate = null;
    if (typeof result === "string") candidate = result;
    else if (result && typeof result === "object" && typeof result.url === "string") {
      candidate = result.url;
    }
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
      return { ...DEFAULT_MESSAGES, ...parsed && typeof parsed === "object" ? parsed : {} };
    } catch {
      return { ...DEFAULT_MESSAGES };
    }
  }
  var Watcher = class {
    constructor(element, options) {
      this.element = element;
      this.document = element.ownerDocument;
      this.window = this.document.defaultView;
      this.url = options.url || element.dataset.jobtasticUrl;
      this.token = element.dataset.jobtasticToken || null;
      const batchUrl = element.dataset.jobtasticBatchUrl;
      this.fixedInterval = Number(options.pollInterval) || null;
      this.pollInterval = this.fixedInterval || Number(element.dataset.jobtasticPollInterval) || 1;
      this.language = options.language || element.dataset.jobtasticLanguage || "en";
      this.messages = { ...readMessages(element), ...options.messages || {} };
      this.fetch = options.fetch || this.window.fetch.bind(this.window);
      this.giveUpAfter = options.giveUpAfter ?? GIVE_UP_AFTER_SECONDS;
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
      this.poller = !options.url && this.token && batchUrl ? sharedPoller(this.window, batchUrl, {
        fetch: options.fetch,
        eventsUrl: options.eventsUrl === void 0 ? element.dataset.jobtasticEventsUrl : options.eventsUrl,
        pollInterval: this.fixedInterval,
        defaultInterval: this.pollInterval,
        giveUpAfter: this.giveUpAfter,
        timeout: options.timeout
      }) : null;
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
      this.timer = this.window.setTimeout(() => this.poll(), seconds * 1e3);
    }
    async poll() {
      if (this.stopped || this.inFlight) return;
      if (!this.element.isConnected) return this.stop();
      if (this.document.hidden) {
        this.paused = true;
        return;
      }
      this.inFlight = true;
      const abort = new this.window.AbortController();
      const deadline = this.window.setTimeout(() => abort.abort(), this.timeout * 1e3);
      let response;
      let body = null;
      try {
        response = await this.fetch(this.url, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
          signal: abort.signal
        });
        body = await response.json().catch(() => null);
      } catch {
        response = null;
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
        this.giveUp(response.status, body && body.error || this.messages.unavailable);
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
          if (!this.stopped) this.render(agedTask(task, (Date.now() - receivedAt) / 1e3), null);
        }, 1e3);
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
      this.failingSince ?? (this.failingSince = Date.now());
      if (Date.now() - this.failingSince > this.giveUpAfter * 1e3) {
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
        this.setText(this.taskMessage, "");
        this.hideCancel();
      }
      if (task.status === "SUCCESS") {
        this.setBar(100);
        this.setText(this.status, this.messages.success);
        this.showLink(task.result);
        this.emit("jobtastic:success", task);
      } else if (task.status === "FAILURE" || task.status === "REVOKED") {
        const fallback = task.status === "REVOKED" ? this.messages.cancelled : this.messages.failure;
        this.setText(this.status, task.error && task.error.message || fallback);
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
            "X-CSRFToken": this.element.dataset.jobtasticCsrfToken || ""
          },
          credentials: "same-origin",
          cache: "no-store"
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
        this.setText(this.taskMessage, body && body.error || this.messages.cancelFailed);
      }
    }
    hideCancel() {
      if (this.cancelButton) this.cancelButton.hidden = true;
    }
    emit(name, detail) {
      const CustomEvent = this.window.CustomEvent;
      this.element.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));
    }
  };
  function watch(element, options = {}) {
    const existing = running.get(element);
    if (existing) return existing;
    const watcher = new Watcher(element, options);
    running.set(element, watcher);
    watcher.start();
    return watcher;
  }
  function startAll(root) {
    const found = root.matches && root.matches(SELECTOR) ? [root] : [];
    found.push(...root.querySelectorAll ? root.querySelectorAll(SELECTOR) : []);
    return found.map((element) => watch(element));
  }
  function observe(document) {
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

  // static_src/index.js
  function install(window2) {
    if (window2.Jobtastic) return window2.Jobtastic;
    const api = { watch, startAll: (root) => startAll(root || window2.document) };
    window2.Jobtastic = api;
    const start = () => observe(window2.document);
    if (window2.document.readyState === "loading") {
      window2.document.addEventListener("DOMContentLoaded", start, { once: true });
    } else {
      start();
    }
    return api;
  }
  if (typeof window !== "undefined") install(window);
})();
