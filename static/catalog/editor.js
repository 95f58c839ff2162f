// Pack editor: uploads by file picker or drag and drop with a progress bar and the API's
// answer per file, and moving or removing stickers through the API without a reload. Every
// form here also works without JS (it posts to the page and comes back).
const csrfToken = () => document.querySelector("input[name=csrfmiddlewaretoken]").value;
const status = document.querySelector("[data-editor-status]");

async function refresh(focusKeys = []) {
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const fresh of page.querySelectorAll("[data-refresh]")) {
    const current = document.querySelector(`[data-refresh="${fresh.dataset.refresh}"]`);
    if (current) current.replaceWith(fresh);
  }
  bindStickerForms();
  for (const key of focusKeys) {
    const target = document.querySelector(`[data-focus="${key}"]`);
    if (target) {
      target.focus();
      return;
    }
  }
}

async function apiError(response) {
  try {
    const body = await response.json();
    if (body.error) return body.error;
  } catch {
    // not JSON
  }
  return `the server answered ${response.status}`;
}

function bindStickerForms() {
  for (const form of document.querySelectorAll("form[data-api-method]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const method = form.dataset.apiMethod;
      const position = form.querySelector("input[name=position]");
      const item = form.closest("[data-sticker]");
      const id = item ? item.dataset.sticker : "";
      const response = await fetch(form.dataset.apiUrl, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: position ? JSON.stringify({ position: Number(position.value) }) : undefined,
      });
      if (!response.ok) {
        status.textContent = `Not changed: ${await apiError(response)}.`;
        return;
      }
      const clicked = form.querySelector("[data-focus]").dataset.focus;
      if (method === "DELETE") {
        const next = item && (item.nextElementSibling || item.previousElementSibling);
        const nextId = next ? next.dataset.sticker : "";
        status.textContent = "Sticker removed.";
        await refresh([`remove-${nextId}`, "stickers-heading"]);
      } else {
        status.textContent = `Sticker moved to position ${position.value}.`;
        await refresh([clicked, `up-${id}`, `down-${id}`]);
      }
    });
  }
}

function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function statusRow(list, file) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = "Waiting";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  row.append(name, state, bar);
  list.append(row);
  return {
    progress(fraction) {
      bar.value = fraction;
      state.textContent = fraction < 1 ? `${Math.round(fraction * 100)}%` : "Processing…";
    },
    finish(ok, text) {
      row.classList.add(ok ? "done" : "error");
      state.textContent = text;
      bar.value = 1;
    },
  };
}

function uploadOne(url, file, emojis, row) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) row.progress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status === 201 || xhr.status === 200) {
        row.finish(true, xhr.status === 201 ? "Added" : "Already in the pack");
        resolve(true);
      } else {
        row.finish(false, body.error || `Refused (${xhr.status})`);
        resolve(false);
      }
    });
    xhr.addEventListener("error", () => {
      row.finish(false, "Network error: not uploaded");
      resolve(false);
    });
    const data = new FormData();
    data.append("file", file, file.name);
    if (emojis) data.append("emojis", emojis);
    data.append("upload_id", randomId());
    xhr.send(data);
  });
}

function bindUploads() {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const list = document.querySelector("[data-upload-status]");
  const dropzone = form.querySelector("[data-dropzone]");
  let busy = false;

  async function uploadAll(files) {
    if (busy) return;
    if (!files.length) {
      status.textContent = "Choose at least one image.";
      input.focus();
      return;
    }
    busy = true;
    list.replaceChildren();
    const emojis = form.querySelector("[name=emojis]").value;
    let added = 0;
    // One at a time, in the order chosen: positions follow that order.
    for (const file of files) {
      if (await uploadOne(form.dataset.apiUrl, file, emojis, statusRow(list, file))) added += 1;
    }
    input.value = "";
    const refused = files.length - added;
    status.textContent = `${added} uploaded${refused ? `, ${refused} refused` : ""}.`;
    busy = false;
    await refresh();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    uploadAll([...input.files]);
  });
  form.querySelector("[data-drop-hint]").hidden = false;
  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropzone.classList.add("dragover");
  });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragover"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragover");
    uploadAll([...event.dataTransfer.files]);
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
bindStickerForms();
bindUploads();
