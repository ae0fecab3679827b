// The demo page's own use of the widget's events: show what a finished job returned.
document.addEventListener("jobtastic:success", (event) => {
  const output = document.getElementById("job-result");
  const result = event.detail.result;
  if (!output) return;
  if (Array.isArray(result)) {
    output.textContent = `Results: ${result.slice(0, 12).join(", ")}${result.length > 12 ? ", …" : ""}`;
  } else if (output.dataset.kind === "chart" && result && result.url) {
    const chart = document.createElement("img");
    chart.src = result.url;
    chart.alt = `A random walk of ${result.points} points`;
    output.replaceChildren(chart);
  } else if (result && result.rows) {
    output.textContent = `${result.rows} orders exported.`;
  }
});
