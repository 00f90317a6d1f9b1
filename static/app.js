// Umbra's dashboard: live restore progress (server-sent events) and confirmations.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  const box = document.getElementById("progress");
  if (!box || !box.dataset.events) return;
  const bar = box.querySelector("progress");
  const percent = box.querySelector("[data-percent]");
  const counts = box.querySelector("[data-counts]");
  const state = box.querySelector("[data-state]");
  const text = box.querySelector("[data-text]");
  const source = new EventSource(box.dataset.events);
  source.addEventListener("progress", (event) => {
    const p = JSON.parse(event.data);
    bar.value = p.percent;
    percent.textContent = p.percent + "%";
    counts.textContent = (p.done + p.failed) + " / " + p.total;
    state.textContent = p.state;
    box.dataset.status = p.status;
    if (p.text) text.textContent = p.text;
    if (p.finished) {
      const cancel = box.querySelector("form");
      if (cancel) cancel.remove();
    }
  });
  source.addEventListener("done", () => {
    source.close();
    box.dataset.finished = "true";
    // The finished page carries the per-item report.
    window.setTimeout(() => window.location.reload(), 300);
  });
});
