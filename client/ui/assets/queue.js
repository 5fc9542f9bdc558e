// The transfer queue table: one row per file, updated in place from events.

import { post } from "./api.js";
import { formatBytes, formatDuration } from "./format.js";

const STATE_TEXT = {
  queued: "Queued",
  running: "Transferring",
  conflict: "Waiting for your answer",
  done: "Done",
  skipped: "Skipped",
  failed: "Failed",
  cancelled: "Cancelled",
};

export class Queue {
  constructor(body, empty, summary, onError) {
    this.body = body;
    this.empty = empty;
    this.summary = summary;
    this.onError = onError;
    this.items = new Map();
    this.rows = new Map();
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-op]");
      if (!button) return;
      const id = Number(button.closest("tr").dataset.id);
      post(`/api/transfers/${id}/${button.dataset.op}`).catch((error) =>
        this.onError(error.message)
      );
    });
  }

  /** Replaces everything (at start-up). */
  reset(transfers) {
    this.items.clear();
    this.rows.clear();
    this.body.replaceChildren();
    for (const transfer of transfers) this.update(transfer);
    this.#summarize();
  }

  /** Adds or updates one transfer's row. */
  update(transfer) {
    this.items.set(transfer.id, transfer);
    let row = this.rows.get(transfer.id);
    if (!row) {
      row = this.#row(transfer);
      this.rows.set(transfer.id, row);
      this.body.append(row);
    }
    this.#fill(row, transfer);
    this.#summarize();
  }

  /** Removes rows the server forgot. */
  remove(ids) {
    for (const id of ids) {
      this.rows.get(id)?.remove();
      this.rows.delete(id);
      this.items.delete(id);
    }
    this.#summarize();
  }

  #row(transfer) {
    const row = document.createElement("tr");
    row.dataset.id = String(transfer.id);
    const file = document.createElement("td");
    file.className = "file";
    const arrow = document.createElement("span");
    arrow.className = "arrow";
    const label = document.createElement("span");
    label.className = "label";
    file.append(arrow, label);
    const progress = document.createElement("td");
    progress.className = "progress";
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    progress.append(bar);
    const cells = ["size", "rate", "eta"].map((name) => {
      const cell = document.createElement("td");
      cell.className = `num ${name}`;
      return cell;
    });
    const state = document.createElement("td");
    state.className = "state";
    const actions = document.createElement("td");
    actions.className = "actions";
    row.append(file, progress, ...cells, state, actions);
    return row;
  }

  #fill(row, transfer) {
    row.dataset.state = transfer.state;
    const [file, progress, size, rate, eta, state, actions] = row.children;
    file.querySelector(".arrow").textContent = transfer.direction === "download" ? "↓" : "↑";
    file.querySelector(".arrow").title = transfer.direction === "download" ? "Download" : "Upload";
    file.querySelector(".label").textContent = transfer.label;
    file.title = `${transfer.from} → ${transfer.to}`;
    const bar = progress.firstChild;
    const total = transfer.size;
    const fraction = transfer.state === "done"
      ? 1
      : total
      ? Math.min(1, transfer.bytes / total)
      : 0;
    bar.value = fraction;
    bar.setAttribute("aria-label", `${transfer.label}: ${Math.floor(fraction * 100)}%`);
    size.textContent = total === undefined || total === null
      ? formatBytes(transfer.bytes)
      : transfer.state === "running"
      ? `${formatBytes(transfer.bytes)} / ${formatBytes(total)}`
      : formatBytes(total);
    const running = transfer.state === "running";
    rate.textContent = running && transfer.rate > 0
      ? `${formatBytes(Math.round(transfer.rate))}/s`
      : "";
    eta.textContent = running ? formatDuration(transfer.eta) : "";
    state.textContent = transfer.error
      ? `${STATE_TEXT[transfer.state]}: ${transfer.error}`
      : STATE_TEXT[transfer.state];
    state.classList.toggle("error", transfer.state === "failed");
    const buttons = [];
    if (["queued", "running", "conflict"].includes(transfer.state)) {
      buttons.push(this.#button("cancel", "Cancel", transfer.label));
    }
    if (
      ["failed", "cancelled", "skipped"].includes(transfer.state) && transfer.retryable !== false
    ) {
      buttons.push(this.#button("retry", "Retry", transfer.label));
    }
    const current = [...actions.children].map((b) => b.dataset.op).join();
    if (current !== buttons.map((b) => b.dataset.op).join()) actions.replaceChildren(...buttons);
  }

  #button(op, text, label) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.op = op;
    button.textContent = text;
    button.setAttribute("aria-label", `${text} ${label}`);
    return button;
  }

  #summarize() {
    const all = [...this.items.values()];
    this.empty.hidden = all.length > 0;
    const active = all.filter((t) => ["queued", "running", "conflict"].includes(t.state)).length;
    const failed = all.filter((t) => t.state === "failed").length;
    const parts = [];
    if (active) parts.push(`${active} active`);
    if (failed) parts.push(`${failed} failed`);
    this.summary.textContent = parts.length ? `(${parts.join(", ")})` : "";
  }
}
