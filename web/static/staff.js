// Staff pages: confirmations, split at the cursor, live job progress, resumable chunked uploads.
// Everything here enhances server-rendered forms; the pages work (less comfortably) without it.
"use strict";

const CHUNK = 4 * 1024 * 1024; // bytes per PUT: small enough to resume cheaply, big enough to be fast
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

async function call(method, url, body, headers = {}) {
  const response = await fetch(url, {
    method,
    body,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf(), Accept: "application/json", ...headers },
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* 204 or not JSON */ }
  if (!response.ok) {
    const error = new Error(data.detail || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Confirm destructive forms ---------------------------------------------------------------------
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Transcript editor: "split at cursor" uses the caret of the segment's textarea ------------------
function setupSplit() {
  for (const item of document.querySelectorAll("li.segment")) {
    const area = item.querySelector("textarea[name=text]");
    const split = item.querySelector("form.seg-split");
    if (!area || !split) continue;
    split.querySelector("label.at").hidden = true;
    const remember = () => { split.elements.at.value = String(area.selectionStart || 0); };
    area.addEventListener("keyup", remember);
    area.addEventListener("click", remember);
    area.addEventListener("select", remember);
  }
}

// Job dashboard: poll and update rows in place -------------------------------------------------
function renderJob(row, job) {
  row.dataset.state = job.state;
  const tag = row.querySelector(".state .tag");
  if (tag && tag.dataset.raw !== job.state) {
    tag.className = `tag ${job.state}`;
    tag.textContent = job.state;
    tag.dataset.raw = job.state;
  }
  row.querySelector("progress").value = job.progress;
  row.querySelector(".stage").textContent = job.stage;
  row.querySelector(".attempts").textContent = job.attempts;
  row.querySelector(".error").textContent = job.error || "";
}

function setupJobs() {
  const table = document.getElementById("jobs");
  if (!table) return;
  const tick = async () => {
    try {
      const { jobs } = await call("GET", table.dataset.poll);
      for (const job of jobs) {
        const row = table.querySelector(`tr.job[data-id="${job.id}"]`);
        if (!row) {
          // A job queued since the page was made (an upload, a watched source): show it.
          window.location.reload();
          return;
        }
        const was = row.dataset.state;
        renderJob(row, job);
        // New actions (retry/cancel) depend on the state: reload when it changes for good.
        if (was !== job.state && !["queued", "running"].includes(job.state)) {
          window.location.reload();
          return;
        }
      }
    } catch (_) { /* the next tick tries again */ }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

// Upload -------------------------------------------------------------------------------------
function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const queue = document.getElementById("queue");
  const t = (key) => queue.dataset[`t${key[0].toUpperCase()}${key.slice(1)}`] || key;
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  let chosen = [];

  const show = () => {
    drop.querySelector(".chosen")?.remove();
    if (!chosen.length) return;
    const list = document.createElement("p");
    list.className = "chosen";
    list.textContent = chosen.map((f) => f.name).join(", ");
    drop.appendChild(list);
  };
  input.addEventListener("change", () => { chosen = [...input.files]; show(); });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    chosen = [...e.dataTransfer.files];
    show();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen.length) { input.focus(); return; }
    const meta = {};
    for (const name of ["title", "body", "event_type", "date", "language", "description", "source_url"]) {
      meta[name] = form.elements[name].value.trim() || null;
    }
    const files = chosen;
    chosen = [];
    show();
    for (const file of files) {
      const title = files.length > 1 ? `${meta.title} — ${file.name}` : meta.title;
      await uploadOne(file, { ...meta, title });
    }
  });

  function entry(file) {
    const li = document.createElement("li");
    li.className = "upload";
    li.innerHTML = '<span class="name"></span> <progress max="1" value="0"></progress> '
      + '<span class="status"></span> <span class="link"></span>';
    li.querySelector(".name").textContent = file.name;
    queue.appendChild(li);
    return {
      li,
      status(text, state) { li.querySelector(".status").textContent = text; if (state) li.dataset.state = state; },
      progress(v) { li.querySelector("progress").value = v; },
      link(href) {
        const a = document.createElement("a");
        a.href = href; a.textContent = t("open");
        li.querySelector(".link").replaceChildren(a);
      },
    };
  }

  async function uploadOne(file, meta) {
    const ui = entry(file);
    let upload;
    try {
      upload = await call("POST", "/staff/uploads", JSON.stringify({ ...meta, filename: file.name, size: file.size }),
        { "Content-Type": "application/json" });
    } catch (error) {
      ui.status(error.message, "failed");
      return;
    }
    ui.status(t("uploading"), "uploading");
    let offset = 0;
    let failures = 0;
    while (offset < file.size) {
      try {
        const part = file.slice(offset, Math.min(offset + CHUNK, file.size));
        const answer = await call("PUT", `/staff/uploads/${upload.id}?offset=${offset}`, part,
          { "Content-Type": "application/octet-stream" });
        offset = answer.offset;
        failures = 0;
        ui.status(t("uploading"), "uploading");
        ui.progress(offset / file.size);
      } catch (error) {
        if (error.status && error.status < 500 && error.status !== 409) {
          ui.status(error.message, "failed");
          return;
        }
        // Dropped connection or a server hiccup: ask where the file ends and go on from there.
        failures += 1;
        ui.status(t("retrying"), "retrying");
        await sleep(Math.min(30000, 500 * 2 ** Math.min(failures, 6)));
        try { offset = (await call("GET", `/staff/uploads/${upload.id}`)).offset; } catch (_) { /* retry */ }
      }
    }
    let done;
    try {
      done = await call("POST", `/staff/uploads/${upload.id}/finish`);
    } catch (error) {
      ui.status(error.message, "failed");
      return;
    }
    if (done.duplicate) {
      ui.status(t("duplicate"), "duplicate");
      ui.progress(1);
      ui.link(done.url);
      return;
    }
    ui.status(t("processing"), "processing");
    ui.progress(0);
    await followJob(done.job_id, ui);
  }

  async function followJob(jobId, ui) {
    for (;;) {
      try {
        const { jobs } = await call("GET", `/staff/jobs.json?ids=${jobId}`);
        const job = jobs[0];
        if (job) {
          ui.progress(job.progress);
          if (job.state === "succeeded") {
            ui.status(t("done"), "done");
            if (job.recording_id) ui.link(`/staff/recordings/${job.recording_id}`);
            return;
          }
          if (job.state === "failed" || job.state === "cancelled") {
            ui.status(`${t("failed")}: ${job.error || job.state}`, "failed");
            return;
          }
          ui.status(`${t("processing")}: ${job.stage}`, "processing");
        }
      } catch (_) { /* keep polling */ }
      await sleep(1000);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupSplit();
  setupJobs();
  setupUpload();
});
