/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  // Dismissable flash messages.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss='flash']");
    if (button) {
      button.closest(".flash").remove();
    }
  });

  // Close the account menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

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

  // Mark the results as loading while HTMX fetches them.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var results = document.getElementById("results");
    if (results) { results.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterRequest", function () {
    var results = document.getElementById("results");
    if (results) { results.removeAttribute("aria-busy"); }
  });
})();

/* Leads (issue 4): dialogs and bulk selection. */
(function () {
  "use strict";

  // A dialog's content loaded by HTMX opens it; the server closes it with "closeDialog".
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target.closest && event.detail.target.closest("dialog");
    if (dialog && !dialog.open && event.detail.target.innerHTML.trim()) {
      dialog.showModal();
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
  // An emptied dialog does not linger in the DOM with stale forms.
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG") {
      var body = event.target.querySelector(".dialog__body");
      if (body) { body.innerHTML = ""; }
    }
  }, true);

  // Bulk selection: a header checkbox selects the page; the toolbar counts the selection.
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
})();
/* end of Leads (issue 4) */

/* Notes, documents, tasks and settings (issue 4, "Tasks" and "Settings"). */
(function () {
  "use strict";

  // A refused action answers 403 with HX-Refused: swap its out-of-band flash, leave the target.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Refused")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Forms that destroy something ask first (data-confirm="question").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();

/* Contacts & deals part: native <dialog>s loaded by HTMX (data-autoshow) open as modals; their
   [data-close-dialog] buttons, Escape and a successful submit (which swaps the dialog away)
   close them. */
(function () {
  "use strict";
  function showDialogs(root) {
    var dialogs = root.matches && root.matches("dialog[data-autoshow]") ? [root] : [];
    if (root.querySelectorAll) {
      dialogs = dialogs.concat(Array.from(root.querySelectorAll("dialog[data-autoshow]")));
    }
    dialogs.forEach(function (dialog) {
      if (!dialog.open && dialog.isConnected) { dialog.showModal(); }
    });
  }
  document.addEventListener("htmx:load", function (event) { showDialogs(event.detail.elt); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-dialog]");
    if (!button) { return; }
    var dialog = button.closest("dialog");
    if (dialog && !dialog.classList.contains("cd-dialog--page")) {
      event.preventDefault();
      dialog.close();
      dialog.remove();
    }
  });
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.matches && dialog.matches("dialog[data-autoshow]") && !dialog.classList.contains("cd-dialog--page")) {
      dialog.remove();
    }
  }, true);
})();

/* Issue 5, bulk actions: the "all N matching" menu closes on a click elsewhere or once one of
   its actions is chosen. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.bulk-all[open], details.record-more[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest(".bulk-all__menu a, .record-more__menu a")) {
        menu.removeAttribute("open");
      }
    });
  });
})();
