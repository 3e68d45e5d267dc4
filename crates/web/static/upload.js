// partnerdesk large-file uploader: a small tus 1.0 client for the ticket page. Files of any size are sent in
// 8 MiB PATCH requests; the upload URL is remembered per file in localStorage, so that choosing the same file
// again (after a pause, a lost connection or a page reload) resumes where the server stopped.
(() => {
  "use strict";
  const root = document.getElementById("large-upload");
  if (!root) return;
  const ticket = root.dataset.ticket;
  const endpoint = "/api/v2/large_uploads/";
  const CHUNK = 8 * 1024 * 1024;
  const $ = (sel) => root.querySelector(sel);
  const input = $("#large-file"), start = $("#large-start"), pause = $("#large-pause");
  const bar = $("#large-progress"), status = $("#large-status"), pending = $("#large-pending");
  root.classList.add("js");
  let paused = false;
  let current = null;

  const key = (f) => `pd-upload:${ticket}:${f.name}:${f.size}:${f.lastModified}`;
  const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  const mb = (n) => (n / 1048576).toFixed(1) + " MB";

  function request(method, url, headers, body, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      current = xhr;
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = onProgress;
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error("the connection failed"));
      xhr.onabort = () => reject(new Error("paused"));
      xhr.send(body === undefined ? null : body);
    });
  }

  function explain(xhr) {
    try { return JSON.parse(xhr.responseText).description || xhr.statusText; } catch { return `${xhr.status} ${xhr.statusText}`; }
  }

  async function locate(file) {
    const saved = localStorage.getItem(key(file));
    if (saved) {
      const r = await request("HEAD", saved);
      if (r.status === 200) return [saved, Number(r.getResponseHeader("Upload-Offset"))];
      localStorage.removeItem(key(file));
    }
    const r = await request("POST", endpoint, {
      "Upload-Length": String(file.size),
      "Upload-Metadata": `filename ${b64(file.name)},ticket_id ${b64(ticket)},filetype ${b64(file.type || "application/octet-stream")}`,
    });
    if (r.status !== 201) throw new Error(explain(r));
    const url = r.getResponseHeader("Location");
    localStorage.setItem(key(file), url);
    localStorage.setItem(key(file) + ":name", file.name);
    return [url, 0];
  }

  function show(done, total, startedAt, startedFrom) {
    bar.max = total || 1;
    bar.value = done;
    const secs = (performance.now() - startedAt) / 1000;
    const speed = secs > 0.2 ? ` · ${mb((done - startedFrom) / secs)}/s` : "";
    status.textContent = `${mb(done)} of ${mb(total)} (${Math.floor((100 * done) / (total || 1))}%)${speed}`;
  }

  async function run() {
    const file = input.files[0];
    if (!file) { status.textContent = "Choose a file first."; return; }
    paused = false;
    start.disabled = true;
    pause.disabled = false;
    try {
      let [url, offset] = await locate(file);
      const t0 = performance.now();
      const from = offset;
      show(offset, file.size, t0, from);
      while (offset < file.size && !paused) {
        const end = Math.min(offset + CHUNK, file.size);
        const base = offset;
        const r = await request("PATCH", url, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
          file.slice(offset, end), (e) => show(base + e.loaded, file.size, t0, from));
        if (r.status !== 204) throw new Error(explain(r));
        offset = Number(r.getResponseHeader("Upload-Offset"));
        show(offset, file.size, t0, from);
      }
      if (offset >= file.size) {
        localStorage.removeItem(key(file));
        localStorage.removeItem(key(file) + ":name");
        status.textContent = `${file.name} uploaded. Reloading the ticket…`;
        root.dataset.done = "1";
        setTimeout(() => location.reload(), 400);
      }
    } catch (e) {
      status.textContent = e.message === "paused"
        ? "Paused. Press Upload to resume, also after reloading the page (choose the same file)."
        : `Upload stopped: ${e.message}. Press Upload to resume.`;
    } finally {
      start.disabled = false;
      pause.disabled = true;
    }
  }

  // Unfinished uploads of this ticket, so that the partner knows which file to choose again.
  const unfinished = Object.keys(localStorage).filter((k) => k.startsWith(`pd-upload:${ticket}:`) && k.endsWith(":name"));
  if (unfinished.length && pending) {
    pending.style.display = "block";
    pending.textContent = "Unfinished: " + unfinished.map((k) => localStorage.getItem(k)).join(", ") + ". Choose the same file to resume.";
  }
  start.addEventListener("click", run);
  pause.addEventListener("click", () => { paused = true; if (current) current.abort(); });
})();
