// Entry of the built script: window.Jobtastic, and every widget on the page started.
// Including the script twice (an htmx fragment bringing it again) changes nothing.

import { observe, startAll, watch } from "./widget.js";

export function install(window) {
  if (window.Jobtastic) return window.Jobtastic;
  const api = { watch, startAll: (root) => startAll(root || window.document) };
  window.Jobtastic = api;
  const start = () => observe(window.document);
  if (window.document.readyState === "loading") {
    window.document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
  return api;
}

if (typeof window !== "undefined") install(window);
