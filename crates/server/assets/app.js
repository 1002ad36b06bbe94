// Throughline: small enhancements over server-rendered pages. Everything here also works
// without it through plain forms; scripts add drag and drop, dialogs and shortcuts.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function toast(text) {
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    document.body.appendChild(el);
    setTimeout(function () { el.remove(); }, 4200);
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { ok: res.ok, status: res.status, body: json };
      });
    });
  }

  // Shortcuts: "/" search, "n" new deal. Not while typing.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "/") {
      var search = document.getElementById("search");
      if (search) { e.preventDefault(); search.focus(); }
    } else if (e.key === "n") {
      var add = document.getElementById("new-deal");
      if (add) { e.preventDefault(); window.location.href = add.getAttribute("href"); }
    }
  });

  // ---- Reports ----
  // The filter bar works as a plain GET form; scripts only hide the date fields while a quick
  // period is chosen, keep the filters when the pipeline switcher changes, and sort tables.
  var filters = document.getElementById("report-filters");
  if (filters) {
    var period = filters.querySelector("#f-period");
    var dateFields = filters.querySelectorAll(".date-field");
    var syncDates = function () {
      var custom = !period || period.value === "custom";
      dateFields.forEach(function (f) { f.hidden = !custom && !f.querySelector(".error"); });
    };
    if (period) {
      syncDates();
      period.addEventListener("change", function () {
        syncDates();
        if (period.value === "custom") { var from = filters.querySelector("#f-from"); if (from) from.focus(); }
      });
      dateFields.forEach(function (f) {
        f.addEventListener("change", function () { period.value = "custom"; });
      });
    }
    var switcher = document.getElementById("pipeline-switch");
    var hiddenPipeline = filters.querySelector('input[name="pipeline"]');
    if (switcher && hiddenPipeline) {
      switcher.onchange = null;
      switcher.removeAttribute("onchange");
      switcher.addEventListener("change", function () {
        hiddenPipeline.value = switcher.value;
        filters.submit();
      });
    }
  }

  // Sortable tables: each tbody is a group (a source with its campaigns) and moves whole.
  function sortValue(row, index) {
    var cell = row && row.children[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    var text = (raw === null ? cell.textContent : raw).trim();
    if (text === "—") return -Infinity;
    var number = text.replace(/[€$£¥,\s%]|days?|\/day/g, "").replace("−", "-");
    return number !== "" && !isNaN(Number(number)) ? Number(number) : text.toLowerCase();
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var groups = Array.prototype.slice.call(table.tBodies);
        var single = groups.length === 1;
        var items = single ? Array.prototype.slice.call(groups[0].rows) : groups;
        items.sort(function (a, b) {
          var x = sortValue(single ? a : a.rows[0], index);
          var y = sortValue(single ? b : b.rows[0], index);
          var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return descending ? -c : c;
        });
        var parent = single ? groups[0] : table;
        items.forEach(function (item) { parent.appendChild(item); });
      });
    });
  });

  // ---- Import ----
  // The upload button says it is working while a large file goes up (and comes back to life
  // when the page is shown again from history).
  var importForm = document.getElementById("import-form");
  if (importForm) {
    var startButton = document.getElementById("start-import");
    var startLabel = startButton ? startButton.textContent : "";
    importForm.addEventListener("submit", function () {
      if (!startButton) return;
      setTimeout(function () { startButton.disabled = true; startButton.textContent = "Uploading…"; }, 0);
    });
    window.addEventListener("pageshow", function () {
      if (startButton) { startButton.disabled = false; startButton.textContent = startLabel; }
    });
  }

  // A running job's page follows it through the API and reloads itself when it ends, so the
  // server renders the report. Without scripts, the page refreshes itself instead.
  var importJob = document.getElementById("import-job");
  if (importJob) {
    var bar = importJob.querySelector(".progress");
    var fill = bar.querySelector("span");
    var rowsDone = document.getElementById("rows-done");
    var rowsTotal = document.getElementById("rows-total");
    var progressTitle = document.getElementById("progress-title");
    var rowsEta = document.getElementById("rows-eta");
    var grouped = function (n) { return Number(n).toLocaleString("en-US"); };
    // The pace is measured from the first poll that saw rows done, as the terminal does.
    var since = null;
    var eta = function (job) {
      if (!job.rows_total || job.rows_done >= job.rows_total) return "";
      var now = Date.now();
      if (!since) { since = { at: now, done: job.rows_done }; return ""; }
      var seconds = (now - since.at) / 1000;
      var rate = (job.rows_done - since.done) / seconds;
      if (seconds < 1.5 || rate <= 0) return "";
      var left = Math.ceil((job.rows_total - job.rows_done) / rate);
      var words = left < 60 ? "about " + left + " s left" : "about " + Math.ceil(left / 60) + " min left";
      return " · " + grouped(Math.round(rate)) + " rows/s · " + words;
    };
    var misses = 0;
    var poll = function () {
      fetch("/api/v1/imports/" + encodeURIComponent(importJob.dataset.job), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (res) {
          // Gone (the server restarted) or ended: the page says which.
          if (res.status === 404) { window.location.reload(); return null; }
          if (!res.ok) throw new Error(String(res.status));
          return res.json();
        })
        .then(function (job) {
          if (!job) return;
          misses = 0;
          if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
          rowsDone.textContent = grouped(job.rows_done);
          if (job.rows_total !== null) {
            var percent = job.rows_total ? Math.min(100, Math.floor(job.rows_done * 100 / job.rows_total)) : 100;
            bar.classList.remove("indeterminate");
            fill.style.width = percent + "%";
            bar.setAttribute("aria-valuemax", String(job.rows_total));
            bar.setAttribute("aria-valuenow", String(job.rows_done));
            rowsTotal.textContent = grouped(job.rows_total);
            progressTitle.textContent = job.rows_done >= job.rows_total ? "Writing to the database…" : "Importing…";
            if (rowsEta) rowsEta.textContent = eta(job);
          }
          setTimeout(poll, 400);
        })
        .catch(function () {
          misses += 1;
          setTimeout(poll, Math.min(10000, 1000 * misses));
        });
    };
    setTimeout(poll, 250);
  }

  // ---- Board ----
  var board = document.getElementById("board");
  if (!board || board.dataset.readonly === "true") return;

  function refreshBoard() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("board");
        if (fresh) { board.innerHTML = fresh.innerHTML; }
      });
  }

  function columnOf(stageId) {
    return board.querySelector('.column[data-stage-id="' + stageId + '"]');
  }

  var dialog = document.getElementById("criteria-dialog");

  function openCriteria(card, stageId, problem) {
    var column = columnOf(stageId);
    var list = dialog.querySelector(".checklist");
    var moveBtn = dialog.querySelector("[data-action=move]");
    dialog.querySelector(".stage-name").textContent = column ? column.dataset.stageName : "";
    var guidance = dialog.querySelector(".guidance");
    var text = column ? column.dataset.description : "";
    guidance.textContent = text || "";
    guidance.hidden = !text;
    list.innerHTML = "";
    var version = Number(card.dataset.version);
    var pending = {};
    (problem.unmet || []).forEach(function (u) {
      var li = document.createElement("li");
      if (u.kind === "checklist") {
        pending[u.criterion_id] = true;
        var box = document.createElement("input");
        box.type = "checkbox";
        box.id = "crit-" + u.criterion_id;
        var label = document.createElement("label");
        label.htmlFor = box.id;
        label.textContent = u.label;
        box.addEventListener("change", function () {
          box.disabled = true;
          api("POST", "/api/v1/deals/" + card.dataset.dealId + "/criteria/" + u.criterion_id, { checked: box.checked })
            .then(function (r) {
              box.disabled = false;
              if (!r.ok) { box.checked = !box.checked; toast(r.body.detail || "Could not save the tick."); return; }
              version = r.body.version;
              card.dataset.version = String(version);
              if (box.checked) { delete pending[u.criterion_id]; } else { pending[u.criterion_id] = true; }
              update();
            });
        });
        li.appendChild(box);
        li.appendChild(label);
      } else {
        pending["field:" + u.field] = true;
        var a = document.createElement("a");
        a.href = "/deals/" + card.dataset.dealId + "#edit";
        a.textContent = u.label + " — fill it in on the deal page";
        li.appendChild(document.createTextNode("○ "));
        li.appendChild(a);
      }
      list.appendChild(li);
    });
    function update() { moveBtn.disabled = Object.keys(pending).length > 0; }
    update();
    moveBtn.onclick = function () {
      dialog.close();
      move(card, stageId);
    };
    dialog.showModal();
  }

  function move(card, stageId) {
    if (card.dataset.stageId === stageId) return;
    var target = columnOf(stageId);
    api("POST", "/api/v1/deals/" + card.dataset.dealId + "/move", { stage_id: stageId, version: Number(card.dataset.version) })
      .then(function (r) {
        if (r.ok) {
          toast("Moved “" + card.dataset.title + "” to " + (target ? target.dataset.stageName : "the stage") + ".");
          return refreshBoard();
        }
        if (r.body.type === "/problems/criteria-unmet") return openCriteria(card, stageId, r.body);
        if (r.status === 409) {
          toast("Someone else changed this deal; the board shows the latest now.");
          return refreshBoard();
        }
        toast(r.body.detail || "The move did not go through.");
      })
      .catch(function () { toast("No connection to the server; nothing was changed."); });
  }

  var dragged = null;
  var placeholder = document.createElement("div");
  placeholder.className = "card placeholder";
  placeholder.style.cssText = "border-style:dashed;box-shadow:none;min-height:48px;background:transparent";

  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".card[data-deal-id]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.dealId);
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    placeholder.remove();
    board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (e) {
    var column = e.target.closest && e.target.closest(".column");
    if (!column || !dragged) return;
    e.preventDefault();
    board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
    column.classList.add("drop-target");
    var cards = column.querySelector(".cards");
    if (column.dataset.stageId !== dragged.dataset.stageId && placeholder.parentNode !== cards) cards.appendChild(placeholder);
  });
  board.addEventListener("drop", function (e) {
    var column = e.target.closest && e.target.closest(".column");
    if (!column || !dragged) return;
    e.preventDefault();
    var card = dragged;
    placeholder.remove();
    move(card, column.dataset.stageId);
  });

  // Keyboard path for every drag: Shift+→ / Shift+← moves the focused card one stage.
  board.addEventListener("keydown", function (e) {
    var card = e.target.closest && e.target.closest(".card[data-deal-id]");
    if (!card || !e.shiftKey || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
    e.preventDefault();
    var columns = Array.prototype.slice.call(board.querySelectorAll(".column"));
    var index = columns.indexOf(card.closest(".column")) + (e.key === "ArrowRight" ? 1 : -1);
    if (index >= 0 && index < columns.length) move(card, columns[index].dataset.stageId);
  });
})();
