// virt's web page: live journal, keyboard navigation, copy buttons, tag editing.
// Plain JavaScript, no build step. Every HTML fragment inserted here was escaped by the server.
"use strict";

function rows() {
  return Array.from(document.querySelectorAll("table.list tbody tr[data-href]"));
}

function select(row) {
  for (const r of document.querySelectorAll("tr.selected")) r.classList.remove("selected");
  if (!row) return;
  row.classList.add("selected");
  row.scrollIntoView({ block: "nearest" });
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  const at = all.findIndex((r) => r.classList.contains("selected"));
  const next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
  select(all[next]);
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement ||
    target instanceof HTMLTextAreaElement;
  if (typing) {
    if (event.key === "Escape") target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "j" || event.key === "ArrowDown") { move(1); event.preventDefault(); }
  else if (event.key === "k" || event.key === "ArrowUp") { move(-1); event.preventDefault(); }
  else if (event.key === "Enter") {
    const row = document.querySelector("tr.selected[data-href]");
    if (row) window.location.href = row.dataset.href;
  } else if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (search) { search.focus(); event.preventDefault(); }
  }
});

document.addEventListener("click", (event) => {
  const row = event.target.closest && event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a")) select(row);
});

// live journal: poll for entries newer than the last shown
function live() {
  const badge = document.getElementById("live");
  const body = document.getElementById("journal-rows");
  if (!badge || !body) return;
  let last = Number(badge.dataset.last || 0);
  const base = badge.dataset.poll;
  async function poll() {
    try {
      const sep = base.includes("?") ? "&" : "?";
      const answer = await fetch(base + sep + "after=" + last, { headers: { Accept: "application/json" } });
      if (!answer.ok) throw new Error(String(answer.status));
      const data = await answer.json();
      if (data.rows.trim()) body.insertAdjacentHTML("afterbegin", data.rows);
      last = data.last;
      for (const [kind, n] of Object.entries(data.counts)) {
        const cell = document.querySelector(`[data-count="${kind}"]`);
        if (cell) cell.textContent = String(n);
      }
      const total = document.querySelector('[data-count="total"]');
      if (total) total.textContent = String(data.total);
      while (body.rows.length > 500) body.deleteRow(-1);
      badge.textContent = "live";
      badge.classList.remove("stale");
    } catch (e) {
      badge.textContent = "not updating (" + e.message + ")";
      badge.classList.add("stale");
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
}

// copy buttons: the text of the element the button names
async function copy(button) {
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents(source);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  source.dataset.copied = "yes";
}

// tags: PATCH /__virt/interactions/{id} with {"tags": [...]}
function tags() {
  const form = document.getElementById("tags");
  if (!form) return;
  const status = document.getElementById("tags-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const given = form.elements.namedItem("tags").value;
    const list = given.split(",").map((t) => t.trim()).filter((t) => t);
    try {
      const answer = await fetch(form.dataset.api, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tags: list }),
      });
      const data = await answer.json();
      if (!answer.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
      form.elements.namedItem("tags").value = data.tags.join(", ");
      status.textContent = "saved";
    } catch (e) {
      status.textContent = "not saved: " + e.message;
    }
  });
}

// filters: leave empty fields out of the URL, so deep links stay short
function filters() {
  for (const form of document.querySelectorAll("form.filters")) {
    form.addEventListener("submit", () => {
      for (const field of form.elements) {
        if ((field instanceof HTMLInputElement || field instanceof HTMLSelectElement) && !field.value) {
          field.disabled = true;
        }
      }
    });
  }
  // coming back through the history shows the page as it was left: fields usable again
  window.addEventListener("pageshow", () => {
    for (const field of document.querySelectorAll("form.filters [disabled]")) field.disabled = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  filters();
  for (const b of document.querySelectorAll("button[data-copy]")) {
    b.addEventListener("click", () => copy(b));
  }
  live();
  tags();
});
