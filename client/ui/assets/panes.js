// A file pane (local folder or server): listing, breadcrumbs, sorting,
// selection, keyboard, and dragging entries out of it.

import { formatBytes, formatDate, joinPath, parentPath } from "./format.js";

/** The drag type that carries entries between the panes. */
export const DRAG_TYPE = "application/x-ferry-entries";

export class Pane {
  /**
   * @param {HTMLElement} root the pane's section
   * @param {object} hooks load(path), open(entry), transfer(entries), action(name), rootLabel()
   */
  constructor(root, hooks) {
    this.root = root;
    this.side = root.dataset.side;
    this.hooks = hooks;
    this.path = "/";
    this.entries = [];
    this.sort = { key: "name", descending: false };
    this.selected = new Set();
    this.cursor = 0;
    this.anchor = 0;
    this.loading = false;
    this.body = root.querySelector("tbody");
    this.crumbs = root.querySelector(".crumbs");
    this.foot = root.querySelector(".pane-foot");
    this.empty = root.querySelector(".empty");
    this.list = root.querySelector(".list");
    this.#wire();
  }

  #wire() {
    for (const button of this.root.querySelectorAll("[data-sort]")) {
      button.addEventListener("click", () => {
        const key = button.dataset.sort;
        this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : false };
        this.render();
      });
    }
    for (const button of this.root.querySelectorAll(".toolbar [data-action]")) {
      button.addEventListener("click", () => this.hooks.action(button.dataset.action));
    }
    this.body.addEventListener("click", (event) => {
      const row = event.target.closest("tr");
      if (!row) return;
      this.#select(Number(row.dataset.index), event.ctrlKey || event.metaKey, event.shiftKey);
    });
    this.body.addEventListener("dblclick", (event) => {
      const row = event.target.closest("tr");
      if (row) this.#activate(this.view()[Number(row.dataset.index)]);
    });
    this.body.addEventListener("keydown", (event) => this.#key(event));
    this.body.addEventListener("dragstart", (event) => {
      const row = event.target.closest("tr");
      if (!row) return;
      const entry = this.view()[Number(row.dataset.index)];
      if (!this.selected.has(entry.name)) {
        this.selected = new Set([entry.name]);
        this.#paintSelection();
      }
      event.dataTransfer.setData(
        DRAG_TYPE,
        JSON.stringify({
          side: this.side,
          dir: this.path,
          entries: this.selectedEntries().map(({ name, type }) => ({ name, type })),
        }),
      );
      event.dataTransfer.effectAllowed = "copy";
    });
  }

  /** The entries in display order: folders first, then by the sort key. */
  view() {
    const { key, descending } = this.sort;
    const factor = descending ? -1 : 1;
    const rank = (entry) => (entry.type === "dir" ? 0 : 1);
    return [...this.entries].sort((a, b) => {
      if (rank(a) !== rank(b)) return rank(a) - rank(b);
      let order = 0;
      if (key === "size") order = a.size - b.size;
      else if (key === "mtime") order = a.mtime - b.mtime;
      if (order === 0) order = a.name.localeCompare(b.name, undefined, { numeric: true });
      return order * factor;
    });
  }

  /** The selected entries (or the one under the cursor when none is selected). */
  selectedEntries() {
    const view = this.view();
    const chosen = view.filter((entry) => this.selected.has(entry.name));
    if (chosen.length > 0) return chosen;
    return view[this.cursor] ? [view[this.cursor]] : [];
  }

  /** Shows a folder's entries. */
  show(path, entries) {
    const changed = path !== this.path;
    this.path = path;
    this.entries = entries;
    if (changed) {
      this.selected = new Set();
      this.cursor = 0;
    } else {
      const names = new Set(entries.map((entry) => entry.name));
      this.selected = new Set([...this.selected].filter((name) => names.has(name)));
    }
    this.render();
  }

  /** Empties the pane (disconnected). */
  clear(message) {
    this.entries = [];
    this.path = "/";
    this.selected = new Set();
    this.render();
    this.crumbs.replaceChildren();
    this.empty.textContent = message;
  }

  render() {
    const view = this.view();
    this.cursor = Math.min(this.cursor, Math.max(0, view.length - 1));
    const focused = this.body.contains(document.activeElement);
    const rows = view.map((entry, index) => {
      const row = document.createElement("tr");
      row.dataset.index = String(index);
      row.dataset.name = entry.name;
      row.dataset.type = entry.type;
      row.draggable = true;
      row.tabIndex = index === this.cursor ? 0 : -1;
      row.setAttribute("aria-selected", String(this.selected.has(entry.name)));
      const name = document.createElement("td");
      name.className = `name ${entry.type}`;
      const icon = document.createElement("span");
      icon.className = "icon";
      icon.setAttribute("aria-hidden", "true");
      const label = document.createElement("span");
      label.textContent = entry.name;
      name.append(icon, label);
      const size = document.createElement("td");
      size.className = "size";
      size.textContent = entry.type === "file" ? formatBytes(entry.size) : "";
      if (entry.type === "file") size.title = `${entry.size} bytes`;
      const date = document.createElement("td");
      date.className = "date";
      date.textContent = formatDate(entry.mtime);
      row.append(name, size, date);
      return row;
    });
    this.body.replaceChildren(...rows);
    this.empty.hidden = view.length > 0;
    for (const button of this.root.querySelectorAll("[data-sort]")) {
      const th = button.closest("th");
      th.setAttribute(
        "aria-sort",
        button.dataset.sort === this.sort.key
          ? (this.sort.descending ? "descending" : "ascending")
          : "none",
      );
    }
    this.#renderCrumbs();
    this.#renderFoot(view);
    if (focused) this.focus();
  }

  #renderCrumbs() {
    const parts = this.path.split("/").filter(Boolean);
    const items = [];
    const root = document.createElement("button");
    root.type = "button";
    root.textContent = this.hooks.rootLabel();
    root.addEventListener("click", () => this.hooks.load("/"));
    items.push(root);
    parts.forEach((part, i) => {
      const sep = document.createElement("span");
      sep.className = "sep";
      sep.textContent = "/";
      sep.setAttribute("aria-hidden", "true");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = part;
      const target = `/${parts.slice(0, i + 1).join("/")}`;
      button.addEventListener("click", () => this.hooks.load(target));
      if (i === parts.length - 1) button.setAttribute("aria-current", "location");
      items.push(sep, button);
    });
    this.crumbs.replaceChildren(...items);
  }

  /** Focuses the row under the cursor (or the list). */
  focus() {
    const row = this.body.querySelector(`tr[data-index="${this.cursor}"]`);
    if (row) row.focus();
  }

  #select(index, toggle, range) {
    const view = this.view();
    if (!view[index]) return;
    if (range) {
      const [from, to] = [Math.min(this.anchor, index), Math.max(this.anchor, index)];
      this.selected = new Set(view.slice(from, to + 1).map((entry) => entry.name));
    } else if (toggle) {
      const name = view[index].name;
      if (this.selected.has(name)) this.selected.delete(name);
      else this.selected.add(name);
      this.anchor = index;
    } else {
      this.selected = new Set([view[index].name]);
      this.anchor = index;
    }
    this.cursor = index;
    this.#paintSelection();
    this.focus();
  }

  /** Updates the rows' selection and focus marks without rebuilding them (keeps double-clicks whole). */
  #paintSelection() {
    for (const row of this.body.children) {
      const index = Number(row.dataset.index);
      row.tabIndex = index === this.cursor ? 0 : -1;
      row.setAttribute("aria-selected", String(this.selected.has(row.dataset.name)));
    }
    this.#renderFoot(this.view());
  }

  #renderFoot(view) {
    const files = view.filter((entry) => entry.type === "file");
    const total = files.reduce((sum, entry) => sum + entry.size, 0);
    const selected = this.selected.size > 0 ? `, ${this.selected.size} selected` : "";
    this.foot.textContent = `${view.length} items, ${formatBytes(total)} in files${selected}`;
  }

  #activate(entry) {
    if (!entry) return;
    if (entry.type === "dir") this.hooks.load(joinPath(this.path, entry.name));
    else this.hooks.transfer([entry]);
  }

  #key(event) {
    const view = this.view();
    const move = (index) => {
      const next = Math.max(0, Math.min(view.length - 1, index));
      this.#select(next, false, event.shiftKey);
    };
    switch (event.key) {
      case "ArrowDown":
        move(this.cursor + 1);
        break;
      case "ArrowUp":
        move(this.cursor - 1);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(view.length - 1);
        break;
      case "PageDown":
        move(this.cursor + 10);
        break;
      case "PageUp":
        move(this.cursor - 10);
        break;
      case " ":
        this.#select(this.cursor, true, false);
        break;
      case "Enter": {
        const entry = view[this.cursor];
        if (entry?.type === "dir" && this.selected.size <= 1) this.#activate(entry);
        else this.hooks.transfer(this.selectedEntries());
        break;
      }
      case "Backspace":
        this.hooks.load(parentPath(this.path));
        break;
      case "Delete":
        this.hooks.action("delete");
        break;
      case "F2":
        this.hooks.action("rename");
        break;
      case "F7":
        this.hooks.action("mkdir");
        break;
      case "F5":
        this.hooks.action("refresh");
        break;
      case "a":
        if (!(event.ctrlKey || event.metaKey)) return;
        this.selected = new Set(view.map((entry) => entry.name));
        this.#paintSelection();
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
