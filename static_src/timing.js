// When to ask again: shared by a widget polling its own status URL and the page's poller.

export const MAX_BACKOFF_SECONDS = 30;
/** Seconds of failed polls in a row after which the widget gives up (a dead server). */
export const GIVE_UP_AFTER_SECONDS = 900;

/** Seconds before retry `attempt` (1, 2, ...): the server's Retry-After, else backoff. */
export function retryDelay(attempt, retryAfter, baseSeconds) {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  return Math.min(MAX_BACKOFF_SECONDS, Math.max(baseSeconds, 1) * 2 ** (attempt - 1));
}
