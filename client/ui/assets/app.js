// ferry's browser client: wires the connect form, the two panes, the
// transfer queue, the command log and the server's event stream.

import { get, post, putFile } from "./api.js";
import {
  confirmDialog,
  dropConflict,
  initConflictDialog,
  promptDialog,
  setFormatter,
  showConflict,
} from "./dialogs.js";
import { formatBytes, joinPath, parentPath } from "./format.js";
import { DRAG_TYPE, Pane } from "./panes.js";
import { Queue } from "./queue.js";

const $ = (id) => document.getElementById(id);
const state = { connection: null, localRoot: "/", refreshTimers: {} };

function showMessage(text, kind = "error") {
  const box = $("message");
  box.dataset.kind = kind;
  $("message-text").textContent = text;
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
}

/** Runs an action, showing its error in the message bar. */
async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    showMessage(error.message);
    return undefined;
  }
}

// ---- panes ---------------------------------------------------------------

const panes = {};

async function load(side, path) {
  const pane = panes[side];
  if (side === "remote" && !state.connection) return;
  pane.root.setAttribute("aria-busy", "true");
  try {
    const listing = await get(`/api/${side}/list`, { path });
    pane.show(listing.path, listing.entries);
    return true;
  } catch (error) {
    showMessage(error.message);
    return false;
  } finally {
    pane.root.removeAttribute("aria-busy");
  }
}

function refreshSoon(side, dir) {
  const pane = panes[side];
  // The folder shown, or one inside it (a folder transfer makes new folders), changed.
  const inside = pane.path === "/" ? "/" : `${pane.path}/`;
  if (dir !== undefined && pane.path !== dir && !dir.startsWith(inside)) return;
  clearTimeout(state.refreshTimers[side]);
  state.refreshTimers[side] = setTimeout(() => load(side, pane.path), 250);
}

async function transfer(fromSide, entries, fromDir) {
  if (!state.connection) return showMessage("Connect to a server first");
  if (entries.length === 0) return showMessage("Select files or folders first", "info");
  const local = panes.local;
  const remote = panes.remote;
  clearMessage();
  const queued = await attempt(() =>
    post("/api/transfers", {
      direction: fromSide === "local" ? "upload" : "download",
      localDir: fromSide === "local" ? (fromDir ?? local.path) : local.path,
      remoteDir: fromSide === "remote" ? (fromDir ?? remote.path) : remote.path,
      entries: entries.map(({ name, type }) => ({ name, type: type === "dir" ? "dir" : "file" })),
    })
  );
  // Folders were made on the target side before their files move.
  if (queued && entries.some((entry) => entry.type === "dir")) {
    refreshSoon(fromSide === "local" ? "remote" : "local");
  }
}

async function paneAction(side, action) {
  const pane = panes[side];
  if (side === "remote" && !state.connection && action !== "choose-files") {
    return showMessage("Connect to a server first");
  }
  const selected = pane.selectedEntries();
  switch (action) {
    case "up":
      return load(side, parentPath(pane.path));
    case "refresh":
      return load(side, pane.path);
    case "transfer":
      return transfer(side, selected);
    case "mkdir": {
      const name = await promptDialog("New folder", "Name", "", "Create");
      if (name === null) return;
      if (await attempt(() => post(`/api/${side}/mkdir`, { dir: pane.path, name }))) {
        await load(side, pane.path);
      }
      return;
    }
    case "rename": {
      const entry = selected[0];
      if (!entry) return showMessage("Select an entry to rename", "info");
      const name = await promptDialog(`Rename ${entry.name}`, "New name", entry.name, "Rename");
      if (name === null || name === entry.name) return;
      if (
        await attempt(() =>
          post(`/api/${side}/rename`, { path: joinPath(pane.path, entry.name), name })
        )
      ) {
        await load(side, pane.path);
      }
      return;
    }
    case "delete": {
      if (selected.length === 0) return showMessage("Select entries to delete", "info");
      const folders = selected.filter((entry) => entry.type === "dir").length;
      const what = selected.length === 1 ? `“${selected[0].name}”` : `${selected.length} items`;
      const where = side === "local" ? "from this computer" : "from the server";
      const ok = await confirmDialog(
        `Delete ${what}?`,
        `This deletes ${what} ${where}${
          folders ? ", with everything inside the folders" : ""
        }. It cannot be undone.`,
        "Delete",
      );
      if (!ok) return;
      for (const entry of selected) {
        const done = await attempt(() =>
          post(`/api/${side}/delete`, { path: joinPath(pane.path, entry.name), type: entry.type })
        );
        if (!done) break;
      }
      await load(side, pane.path);
      return;
    }
    case "choose-files":
      if (!state.connection) return showMessage("Connect to a server first");
      return $("file-input").click();
    case "choose-folder":
      return $("folder-input").click();
  }
}

// ---- files from the desktop ----------------------------------------------

/** Uploads desktop files ({ path: "dir/a.txt", file }) and folders ("dir") to the remote folder. */
async function uploadFromDesktop(files, dirs) {
  if (!state.connection) return showMessage("Connect to a server first");
  if (files.length === 0 && dirs.length === 0) return;
  const remoteDir = panes.remote.path;
  clearMessage();
  showMessage(
    `Reading ${files.length} file${files.length === 1 ? "" : "s"} (${
      formatBytes(files.reduce((sum, f) => sum + f.file.size, 0))
    })…`,
    "info",
  );
  await attempt(async () => {
    const { id } = await post("/api/uploads", {
      remoteDir,
      files: files.map((f) => f.path),
      dirs,
    });
    for (const { path, file } of files) {
      await putFile(`/api/uploads/${id}?${new URLSearchParams({ path })}`, file);
    }
    await post(`/api/uploads/${id}/start`);
    clearMessage();
    refreshSoon("remote", remoteDir);
  });
}

function readAllEntries(reader) {
  return new Promise((resolve, reject) => {
    const all = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walkEntry(entry, prefix, files, dirs) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    files.push({ path, file });
  } else if (entry.isDirectory) {
    dirs.push(path);
    for (const child of await readAllEntries(entry.createReader())) {
      await walkEntry(child, path, files, dirs);
    }
  }
}

async function dropFromDesktop(dataTransfer) {
  const files = [];
  const dirs = [];
  const entries = [];
  const plain = [];
  for (const item of dataTransfer.items ?? []) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else plain.push(item.getAsFile());
  }
  if (entries.length === 0 && plain.length === 0) plain.push(...(dataTransfer.files ?? []));
  for (const entry of entries) await walkEntry(entry, "", files, dirs);
  for (const file of plain) if (file) files.push({ path: file.name, file });
  await uploadFromDesktop(files, dirs);
}

function wireDrop(side) {
  const list = panes[side].list;
  list.addEventListener("dragover", (event) => {
    const types = [...event.dataTransfer.types];
    const fromOther = types.includes(DRAG_TYPE);
    const fromDesktop = types.includes("Files") && side === "remote";
    if (!fromOther && !fromDesktop) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    list.classList.add("drop-target");
  });
  list.addEventListener("dragleave", () => list.classList.remove("drop-target"));
  list.addEventListener("drop", (event) => {
    list.classList.remove("drop-target");
    const data = event.dataTransfer.getData(DRAG_TYPE);
    event.preventDefault();
    if (data) {
      const dragged = JSON.parse(data);
      if (dragged.side === side) return;
      transfer(dragged.side, dragged.entries, dragged.dir);
    } else if (side === "remote") {
      dropFromDesktop(event.dataTransfer);
    } else {
      showMessage("Drop files from the desktop on the server pane to upload them", "info");
    }
  });
}

// ---- connection ------------------------------------------------------------

function setConnection(connection) {
  state.connection = connection;
  const form = $("connect-form");
  for (const field of form.querySelectorAll("input, select")) field.disabled = !!connection;
  $("connect").hidden = !!connection;
  $("disconnect").hidden = !connection;
  document.body.classList.toggle("connected", !!connection);
  if (connection) {
    const security = connection.security === "none"
      ? "plain FTP (not encrypted)"
      : `${connection.security} FTPS${connection.tlsProtocol ? `, ${connection.tlsProtocol}` : ""}${
        connection.verify ? "" : ", certificate NOT verified"
      }`;
    $("status").textContent =
      `Connected to ${connection.host}:${connection.port} as ${connection.user} — ${security}, ${
        connection.active ? "active" : "passive"
      } mode`;
  } else {
    $("status").textContent = "Not connected";
    panes.remote.clear("Connect to a server to see its files.");
  }
}

function fillForm(prefill) {
  if (prefill.host) $("host").value = prefill.host;
  if (prefill.port) $("port").value = String(prefill.port);
  if (prefill.user) $("user").value = prefill.user;
  if (prefill.security) $("security").value = prefill.security;
  if (prefill.savedPassword) $("password").placeholder = "(saved: leave empty)";
}

async function connect(event) {
  event.preventDefault();
  clearMessage();
  const button = $("connect");
  button.disabled = true;
  $("status").textContent = `Connecting to ${$("host").value}…`;
  try {
    const result = await post("/api/connect", {
      host: $("host").value.trim(),
      port: $("port").value.trim(),
      user: $("user").value.trim(),
      password: $("password").value,
      security: $("security").value,
      active: $("mode").value === "active",
      verify: $("verify").checked,
    });
    $("password").value = "";
    setConnection(result.connection);
    const start = state.prefillPath && state.prefillPath !== "/" ? state.prefillPath : result.cwd;
    state.prefillPath = undefined;
    if (!(await load("remote", start))) await load("remote", result.cwd);
    panes.remote.focus();
  } catch (error) {
    setConnection(null);
    showMessage(error.message);
    $("status").textContent = "Not connected";
  } finally {
    button.disabled = false;
  }
}

// ---- the command log -------------------------------------------------------

function addLog(line) {
  const list = $("log");
  const item = document.createElement("li");
  item.className = line.text.startsWith(">")
    ? "sent"
    : line.text.startsWith("<")
    ? "received"
    : "note";
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = line.connection;
  const text = document.createElement("span");
  text.textContent = line.text;
  item.append(who, text);
  list.append(item);
  while (list.childElementCount > 2000) list.firstElementChild.remove();
  if ($("log-panel").open) item.scrollIntoView({ block: "nearest" });
}

// ---- start -----------------------------------------------------------------

async function main() {
  setFormatter(formatBytes);
  initConflictDialog();
  const queue = new Queue(
    $("queue-body"),
    $("queue-empty"),
    $("queue-summary"),
    (text) => showMessage(text),
  );
  panes.local = new Pane($("local-pane"), {
    load: (path) => load("local", path),
    transfer: (entries) => transfer("local", entries),
    action: (name) => paneAction("local", name),
    rootLabel: () => state.localRoot,
  });
  panes.remote = new Pane($("remote-pane"), {
    load: (path) => load("remote", path),
    transfer: (entries) => transfer("remote", entries),
    action: (name) => paneAction("remote", name),
    rootLabel: () => (state.connection ? state.connection.host : "Server"),
  });
  wireDrop("local");
  wireDrop("remote");
  $("connect-form").addEventListener("submit", connect);
  $("disconnect").addEventListener("click", async () => {
    await attempt(() => post("/api/disconnect"));
    setConnection(null);
  });
  $("message-close").addEventListener("click", clearMessage);
  $("clear-finished").addEventListener("click", async () => {
    const result = await attempt(() => post("/api/transfers/clear"));
    if (result) queue.remove(result.cleared);
  });
  $("file-input").addEventListener("change", async (event) => {
    const files = [...event.target.files].map((file) => ({ path: file.name, file }));
    event.target.value = "";
    await uploadFromDesktop(files, []);
  });
  $("folder-input").addEventListener("change", async (event) => {
    const files = [...event.target.files].map((file) => ({
      path: file.webkitRelativePath || file.name,
      file,
    }));
    event.target.value = "";
    await uploadFromDesktop(files, []);
  });
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => event.preventDefault());

  const events = new EventSource("/api/events");
  events.addEventListener("transfer", (event) => {
    const transfer = JSON.parse(event.data);
    queue.update(transfer);
    if (transfer.state === "conflict" && transfer.conflict) {
      showConflict(
        transfer,
        (choice, name, applyToAll) =>
          attempt(() =>
            post(`/api/transfers/${transfer.id}/resolve`, { action: choice, name, applyToAll })
          ),
      );
    } else {
      dropConflict(transfer.id);
    }
    if (transfer.state === "done") {
      const side = transfer.direction === "download" ? "local" : "remote";
      refreshSoon(side, parentPath(transfer.to));
    }
  });
  events.addEventListener("log", (event) => addLog(JSON.parse(event.data)));
  events.addEventListener("connection", (event) => {
    const connection = JSON.parse(event.data);
    if (!connection && state.connection) setConnection(null);
  });
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CLOSED) {
      showMessage("Lost the connection to ferry client ui");
    }
  });

  const initial = await get("/api/state");
  state.localRoot = initial.localRoot;
  fillForm(initial.prefill ?? {});
  state.prefillPath = initial.prefill?.path;
  queue.reset(initial.transfers);
  for (const line of initial.log) addLog(line);
  setConnection(initial.connection);
  await load("local", "/");
  if (initial.connection) await load("remote", "");
  if (!initial.connection) $(initial.prefill?.host ? "password" : "host").focus();
  document.body.dataset.ready = "true";
}

main().catch((error) => showMessage(error.message));
