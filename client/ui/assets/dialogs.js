// Modal questions: confirm, ask for a name, and the "file exists" conflict dialog.

const $ = (id) => document.getElementById(id);

/**
 * Shows the question dialog; resolves with the input's text (or true for a
 * confirmation) on OK, or null on Cancel/Escape.
 */
function ask({ title, text = "", label, value, ok = "OK" }) {
  const dialog = $("ask-dialog");
  $("ask-title").textContent = title;
  $("ask-text").textContent = text;
  $("ask-ok").textContent = ok;
  const withInput = label !== undefined;
  $("ask-field").hidden = !withInput;
  $("ask-label").textContent = label ?? "";
  const input = $("ask-input");
  input.value = value ?? "";
  return new Promise((resolve) => {
    const finish = (result) => {
      $("ask-ok").removeEventListener("click", onOk);
      $("ask-cancel").removeEventListener("click", onCancel);
      input.removeEventListener("keydown", onKey);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(result);
    };
    const onOk = () => {
      if (withInput && input.value.trim() === "") return input.focus();
      finish(withInput ? input.value.trim() : true);
    };
    const onCancel = (event) => {
      event?.preventDefault?.();
      finish(null);
    };
    const onKey = (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        onOk();
      }
    };
    $("ask-ok").addEventListener("click", onOk);
    $("ask-cancel").addEventListener("click", onCancel);
    input.addEventListener("keydown", onKey);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    if (withInput) {
      input.focus();
      const dot = input.value.lastIndexOf(".");
      input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
    } else {
      $("ask-cancel").focus();
    }
  });
}

/** Asks a yes/no question; true on OK. */
export async function confirmDialog(title, text, ok = "OK") {
  return (await ask({ title, text, ok })) === true;
}

/** Asks for a name; the name or null. */
export function promptDialog(title, label, value = "", ok = "OK") {
  return ask({ title, label, value, ok });
}

const conflicts = [];
let showing = null;

/**
 * Queues a conflict question; `answer(choice, name, applyToAll)` is called
 * with the user's choice. One dialog at a time, oldest first.
 */
export function showConflict(transfer, answer) {
  if (
    showing?.transfer.id === transfer.id || conflicts.some((c) => c.transfer.id === transfer.id)
  ) {
    return;
  }
  conflicts.push({ transfer, answer });
  if (!showing) next();
}

/** Drops a conflict that was answered elsewhere ("apply to all", cancel). */
export function dropConflict(id) {
  const index = conflicts.findIndex((c) => c.transfer.id === id);
  if (index >= 0) conflicts.splice(index, 1);
  if (showing?.transfer.id === id) {
    showing = null;
    $("conflict-dialog").close();
    next();
  }
}

function sizeText(bytes, format) {
  return bytes === undefined || bytes === null ? "unknown size" : format(bytes);
}

let formatBytes = (n) => `${n} B`;
/** Sets the size formatter the dialog uses. */
export function setFormatter(format) {
  formatBytes = format;
}

function next() {
  showing = conflicts.shift() ?? null;
  if (!showing) return;
  const { transfer } = showing;
  const c = transfer.conflict;
  const dialog = $("conflict-dialog");
  const where = transfer.direction === "download" ? "on this computer" : "on the server";
  $("conflict-title").textContent = `${c.target.split("/").pop()} already exists ${where}`;
  $("conflict-text").textContent = `${c.target} (${sizeText(c.targetSize, formatBytes)}) — ` +
    `the ${transfer.direction === "download" ? "server's" : "local"} file is ${
      sizeText(c.sourceSize, formatBytes)
    }.`;
  $("conflict-name").value = c.suggested;
  dialog.querySelector('[data-choice="resume"]').disabled = !c.canResume;
  dialog.querySelector('[data-choice="resume"]').title = c.canResume
    ? "Send only the missing end of the file"
    : "Resume needs a target smaller than the source";
  if (!dialog.open) dialog.showModal();
  dialog.querySelector('[data-choice="overwrite"]').focus();
}

/** Wires the conflict dialog's buttons (once, at start-up). */
export function initConflictDialog() {
  const dialog = $("conflict-dialog");
  const choose = (choice) => {
    if (!showing) return;
    const current = showing;
    const name = $("conflict-name").value.trim();
    if (choice === "rename" && name === "") return $("conflict-name").focus();
    const all = $("conflict-all").checked && choice !== "cancel";
    showing = null;
    dialog.close();
    current.answer(choice, name, all);
    if (all) {
      // The server answers the rest of this batch; their questions go away.
      for (let i = conflicts.length - 1; i >= 0; i--) {
        if (conflicts[i].transfer.batch === current.transfer.batch) conflicts.splice(i, 1);
      }
    }
    $("conflict-all").checked = false;
    next();
  };
  for (const button of dialog.querySelectorAll("[data-choice]")) {
    button.addEventListener("click", () => choose(button.dataset.choice));
  }
  $("conflict-name").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      choose("rename");
    }
  });
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    choose("cancel");
  });
}
