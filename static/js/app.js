/* Sales CRM: small progressive enhancements; every page works without this file.
   One section per component, in the order of static/css/app.css:
   1. Flash messages   2. Menus   3. Forms   4. Lists (filters, loading state, bulk selection)
   5. Export menu      6. Dialogs   7. Refused actions   8. API reference
   9. Request failures   10. Timeline */
(function () {
  "use strict";

  /* ---------- 1. Flash messages ---------- */

  // Dismissable flash messages.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss='flash']");
    if (button) {
      button.closest(".flash").remove();
    }
  });

  /* ---------- 2. Menus ---------- */

  // A <details> menu (the account menu, "all N matching", a record's "More") closes on a click
  // elsewhere; the bulk and record menus also close once one of their actions is chosen.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
    document.querySelectorAll("details.bulk-all[open], details.record-more[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest(".bulk-all__menu a, .record-more__menu a")) {
        menu.removeAttribute("open");
      }
    });
  });

  // Escape closes the open menu the focus is in, and puts the focus back on its button.
  document.addEventListener("keydown", function (event) {
    var menu = event.key === "Escape" && event.target.closest && event.target.closest("details[open]");
    if (menu && !event.defaultPrevented) {
      event.preventDefault();  // one Escape, one layer: not the phone menu or a dialog too
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) { summary.focus(); }
    }
  });

  // The phone top bar's menu button (templates/base.html): shows and hides the destinations and
  // the language and account items. Escape or a click elsewhere closes it, focus back on the
  // button after Escape. Without this script the button stays hidden and the bar shows every
  // item, wrapped (static/css/app.css, "Phone top bar").
  var topbar = document.querySelector(".topbar");
  var menuToggle = document.querySelector("[data-topbar-toggle]");
  function setTopbarMenu(open) {
    topbar.classList.toggle("is-open", open);
    menuToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  if (topbar && menuToggle) {
    topbar.classList.add("has-toggle");
    menuToggle.hidden = false;
    menuToggle.addEventListener("click", function () {
      setTopbarMenu(!topbar.classList.contains("is-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.defaultPrevented && topbar.classList.contains("is-open") && !document.querySelector("dialog[open]")) {
        setTopbarMenu(false);
        menuToggle.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (topbar.classList.contains("is-open") && !topbar.contains(event.target)) {
        setTopbarMenu(false);
      }
    });
  }

  /* ---------- 3. Forms ---------- */

  // Forms that destroy something ask first (data-confirm="question").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  /* ---------- 4. Lists: filters, loading state, bulk selection ---------- */

  // Filter forms: leave empty fields out of the URL (?q=&status= -> nothing).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.matches || !elt.matches("form[data-clean-query]") || event.detail.verb !== "get") {
      return;
    }
    var data = event.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      if (data.getAll(key).every(function (value) { return value === ""; })) {
        data.delete(key);
      }
    });
  });

  // Narrow screens: a list's filters sit behind a button (templates/includes/filter_toggle.html)
  // that says how many are set. The form itself is never swapped, so this runs once per page.
  function activeFilters(form) {
    return Array.from(form.elements).filter(function (field) {
      if (!field.name || field.type === "hidden" || field.disabled || field.value === "") { return false; }
      if (field.type === "checkbox" || field.type === "radio") { return field.checked; }
      return !field.matches("button, [type=submit]");
    }).length;
  }
  function refreshFilterCount(button, form) {
    var count = activeFilters(form);
    var label = button.querySelector("[data-filter-count]");
    label.textContent = count ? " " + label.dataset.countText.replace("%s", count) : "";
    button.classList.toggle("is-set", count > 0);
  }
  document.querySelectorAll("[data-filter-toggle]").forEach(function (button) {
    var form = document.getElementById(button.dataset.filterToggle);
    if (!form) { return; }
    button.hidden = false;
    form.classList.add("is-collapsible");
    refreshFilterCount(button, form);
    button.addEventListener("click", function () {
      var open = !form.classList.contains("is-open");
      form.classList.toggle("is-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = form.querySelector("input:not([type=hidden]), select, textarea");
        if (first) { first.focus(); }
      }
    });
    form.addEventListener("change", function () { refreshFilterCount(button, form); });
    form.addEventListener("input", function () { refreshFilterCount(button, form); });
  });

  // Mark the results as loading while HTMX fetches them.
  document.addEventListener("htmx:beforeRequest", function () {
    var results = document.getElementById("results");
    if (results) { results.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterRequest", function () {
    var results = document.getElementById("results");
    if (results) { results.removeAttribute("aria-busy"); }
  });

  // Bulk selection (crm.tables.ToggleColumn): a header checkbox selects the page; the toolbar
  // counts the selection.
  function rowBoxes(formId) {
    return Array.from(document.querySelectorAll("input[type=checkbox][name=pk][form='" + formId + "']"));
  }
  function refreshCount(formId) {
    var boxes = rowBoxes(formId);
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    document.querySelectorAll("[data-selected-count='" + formId + "']").forEach(function (label) {
      label.textContent = checked ? label.dataset.selectedText.replace("%s", checked) : label.dataset.emptyText;
    });
    document.querySelectorAll("[data-select-page='" + formId + "']").forEach(function (box) {
      box.checked = boxes.length > 0 && checked === boxes.length;
      box.indeterminate = checked > 0 && checked < boxes.length;
    });
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.dataset && box.dataset.selectPage) {
      rowBoxes(box.dataset.selectPage).forEach(function (row) { row.checked = box.checked; });
      refreshCount(box.dataset.selectPage);
    } else if (box.name === "pk" && box.getAttribute("form")) {
      refreshCount(box.getAttribute("form"));
    }
  });
  // The bulk form needs a selection: say so instead of sending an empty request.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (form.tagName === "FORM" && form.id && form.querySelector("[data-needs-selection]")) {
      if (!rowBoxes(form.id).some(function (box) { return box.checked; })) {
        event.preventDefault();
        var label = form.querySelector("[data-selected-count]");
        if (label) { label.textContent = label.dataset.noneText; label.classList.add("is-warning"); }
      }
    }
  });

  /* ---------- 5. Export menu (templates/includes/export_menu.html) ---------- */

  // "This filter" exports the list's current filter (the query string, read again when clicked,
  // as HTMX updates it); "Ticked rows" the table's ticked boxes. Without JavaScript the links
  // export everything or the filter the page was loaded with.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-export]");
    if (!link) { return; }
    var scope = link.dataset.exportScope;
    var url = new URL(link.dataset.export, window.location.href);
    if (scope === "filtered") {
      new URLSearchParams(window.location.search).forEach(function (value, key) {
        url.searchParams.append(key, value);
      });
    } else {
      var boxes = document.querySelectorAll("#results input[type=checkbox][name=pk]:checked");
      var note = link.closest("[data-export-menu]").querySelector("[data-export-none]");
      if (!boxes.length) {
        event.preventDefault();
        if (note) { note.hidden = false; }
        return;
      }
      if (note) { note.hidden = true; }
      boxes.forEach(function (box) { url.searchParams.append("pk", box.value); });
    }
    url.searchParams.set("scope", scope);
    url.searchParams.set("format", link.dataset.exportFormat);
    link.href = url.toString();
  });

  /* ---------- 6. Dialogs (templates/includes/dialog.html) ---------- */

  // A dialog's content loaded by HTMX opens it; the server closes it with "closeDialog".
  // Focus (docs/rules.md#accessibility): the modal dialog keeps Tab inside it; opening puts the
  // focus on its first field (a field in error after a re-render), closing gives it back to the
  // control that opened the dialog.
  var FIELDS = "[aria-invalid='true'], [autofocus], input:not([type='hidden']):not([disabled])," +
    " select:not([disabled]), textarea:not([disabled])";
  function focusInDialog(dialog) {
    var content = dialog.querySelector(".dialog__content") || dialog;
    var target = content.querySelector(FIELDS) ||
      content.querySelector("a[href], button:not([disabled])") ||
      dialog.querySelector("a[href], button:not([disabled])");
    if (target) { target.focus(); }
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target.closest && event.detail.target.closest("dialog");
    if (dialog && !dialog.open && event.detail.target.innerHTML.trim()) {
      var opener = document.activeElement;
      dialog.crmOpener = opener && opener !== document.body ? opener : null;
      dialog.showModal();
      focusInDialog(dialog);
    } else if (dialog && dialog.open && !dialog.contains(document.activeElement)) {
      focusInDialog(dialog);
    }
  });
  document.body.addEventListener("closeDialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) { dialog.close(); });
  });
  // Close links in a dialog close it (without JavaScript they are links to a page).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-dismiss-dialog]");
    var dialog = link && link.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });
  // Tab from the last control goes round to the first (Shift+Tab the other way), rather than
  // out to the browser's own bar.
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type='hidden']):not([disabled])," +
    " select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
  document.addEventListener("keydown", function (event) {
    var dialog = event.key === "Tab" && document.querySelector("dialog[open]");
    if (!dialog) { return; }
    var stops = Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.getClientRects().length > 0;
    });
    if (!stops.length) { return; }
    var first = stops[0];
    var last = stops[stops.length - 1];
    var active = document.activeElement;
    if (event.shiftKey && (active === first || !dialog.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  });
  // An emptied dialog does not linger in the DOM with stale forms; its opener gets the focus.
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG") {
      var body = event.target.querySelector(".dialog__body");
      if (body) { body.innerHTML = ""; }
      var opener = event.target.crmOpener;
      event.target.crmOpener = null;
      if (opener && opener.isConnected) { opener.focus(); }
    }
  }, true);

  /* ---------- 7. Refused actions ---------- */

  // A refused action answers 403 with HX-Refused: swap its out-of-band flash, leave the target.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Refused")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  /* ---------- 8. API reference: "Try a request" (templates/api/docs.html) ---------- */

  // Sends the request with the token typed in, never the session cookie, and shows the answer.
  var tryForm = document.getElementById("api-try");
  if (tryForm) {
    tryForm.addEventListener("submit", function (event) { event.preventDefault(); });
    document.getElementById("try-send").addEventListener("click", async function () {
      var method = document.getElementById("try-method").value;
      var answer = document.getElementById("try-answer");
      var options = {
        method: method,
        headers: {
          "Authorization": "Bearer " + document.getElementById("try-token").value,
          "Accept": "application/json"
        },
        credentials: "omit"
      };
      if (method === "POST" || method === "PUT") {
        options.headers["Content-Type"] = "application/json";
        options.body = document.getElementById("try-body").value;
      }
      try {
        var response = await fetch(document.getElementById("try-path").value, options);
        var text = await response.text();
        var shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
        answer.textContent = response.status + " " + response.statusText + "\n" + shown;
      } catch (error) {
        answer.textContent = String(error);
      }
    });
  }

  /* ---------- 9. Request failures ---------- */

  // An HTMX request that fails anyway (an error answer that is not a refusal, no answer, no
  // answer in time: htmx-config's timeout in templates/base.html) says so, instead of silently
  // dropping "Converting…": a flash (the markup of templates/includes/messages.html) at the top
  // of the open dialog the request came from (a modal dialog covers the page), else in the
  // page's flash area, and the form's buttons are usable again. The translated texts are on the
  // htmx-config meta. The server logs every 500 (LOGGING in crm/settings.py). See
  // docs/rules.md#request-failures.
  var FAILURE_TEXTS = {
    server: "failedServer",
    refused: "failedRefused",
    network: "failedNetwork",
    timeout: "failedTimeout"
  };
  function failureFlash(text, dismissLabel) {
    var flash = document.createElement("div");
    flash.className = "flash flash--error";
    flash.setAttribute("role", "alert");
    flash.setAttribute("data-request-failure", "");
    var message = document.createElement("span");
    message.className = "flash__text";
    message.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash__close";
    close.setAttribute("data-dismiss", "flash");
    close.setAttribute("aria-label", dismissLabel);
    close.textContent = "\u00d7";
    flash.append(message, close);
    return flash;
  }
  function requestFailed(event, kind) {
    var meta = document.querySelector("meta[name='htmx-config']");
    var texts = meta ? meta.dataset : {};
    var xhr = event.detail.xhr;
    var status = xhr && xhr.status ? String(xhr.status) : "";
    if (kind === "response") {
      kind = xhr.status >= 500 ? "server" : "refused";
    }
    var text = (texts[FAILURE_TEXTS[kind]] || "The request failed (%s).").replace("%s", status);
    var flash = failureFlash(text, texts.dismiss || "Dismiss");
    var elt = event.detail.elt;
    var dialog = elt && elt.closest ? elt.closest("dialog[open]") : null;
    var content = dialog ? dialog.querySelector(".dialog__content") : null;
    var area = content || document.getElementById("messages");
    if (area) {
      area.querySelectorAll("[data-request-failure]").forEach(function (old) { old.remove(); });
      if (content) { content.prepend(flash); } else { area.append(flash); }
    }
    // htmx enables the buttons of hx-disabled-elt again and ends hx-indicator ("Converting…")
    // itself, right after this (a tested promise: tests/browser/test_request_failures.py).
  }
  document.addEventListener("htmx:responseError", function (event) { requestFailed(event, "response"); });
  document.addEventListener("htmx:sendError", function (event) { requestFailed(event, "network"); });
  document.addEventListener("htmx:timeout", function (event) { requestFailed(event, "timeout"); });
})();

/* ---------- 10. Export menu: background (templates/includes/export_menu.html) ---------- */

// When the export menu opens, its "prepared in the background" note follows the rows of the
// list's current filter (the pager's count, which HTMX re-renders with the results).
(function () {
  "use strict";
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-export-menu]") || !menu.open) { return; }
    var note = menu.querySelector("[data-export-background]");
    var pager = document.querySelector("#results [data-result-count]");
    if (!note || !pager) { return; }
    var count = parseInt(pager.dataset.resultCount, 10) || 0;
    // Past the list's count limit (data-result-limit) the count is the limit plus one: "more than".
    var limit = parseInt(pager.dataset.resultLimit, 10) || 0;
    var threshold = parseInt(menu.dataset.exportThreshold, 10) || 0;
    note.hidden = !(threshold && count > threshold);
    if (!note.hidden) {
      note.textContent = limit
        ? note.dataset.exportEstimateText.replace("%s", limit.toLocaleString())
        : note.dataset.exportBackgroundText.replace("%s", count.toLocaleString());
    }
  }, true);
})();

/* ---------- 11. Dialogs opened as pages (class="dialog-page") ---------- */

// A dialog's form swaps its answer into the dialog's body (hx-target="#lead-dialog-body"...),
// which exists in the list page's <dialog>. Opened as a page of its own (a link opened in a new
// tab, the no-dialog fallback, a redirect), the page's wrapper takes that id, so the same form
// answers in place instead of failing with htmx:targetError.
(function () {
  "use strict";
  function adopt(root) {
    root.querySelectorAll(".dialog-page").forEach(function (page) {
      var elt = page.querySelector('[hx-target^="#"]');
      if (!elt || page.id) { return; }
      var id = elt.getAttribute("hx-target").slice(1);
      if (!document.getElementById(id)) { page.id = id; }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { adopt(document); });
  } else {
    adopt(document);
  }
  /* ---------- 10. Timeline (templates/includes/timeline_card.html) ---------- */

  // The log form offers the outcomes that fit the chosen type (the server checks it anyway).
  function fitOutcomes(typeSelect) {
    var form = typeSelect.form;
    var outcome = form && form.querySelector("select[name=outcome]");
    if (!outcome) { return; }
    outcome.querySelectorAll("optgroup[data-type]").forEach(function (group) {
      var fits = group.dataset.type === typeSelect.value;
      group.disabled = !fits;
      group.hidden = !fits;
    });
    var chosen = outcome.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) {
      outcome.value = "";
    }
  }
  function fitAll(root) {
    root.querySelectorAll("select[data-outcomes-for]").forEach(fitOutcomes);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-outcomes-for]")) {
      fitOutcomes(event.target);
    }
  });
  document.addEventListener("htmx:load", function (event) { fitAll(event.detail.elt); });
  fitAll(document);
})();
