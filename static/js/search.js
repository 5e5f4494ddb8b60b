/* The top bar's global search (templates/includes/global_search.html): an ARIA combobox
   (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/) whose listbox HTMX fills from /search/.
   "/" focuses it (not while typing in a field); ArrowDown/ArrowUp move through the options,
   Enter opens the chosen one (without one, the form goes to the results page), Escape closes the
   list (a second Escape clears the field). Without this file the form still goes to /search/. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-gsearch]");
  if (!form) { return; }
  var input = form.querySelector(".gsearch__input");
  var popup = form.querySelector(".gsearch__popup");
  var live = form.querySelector("[role=status]");

  function options() { return Array.from(popup.querySelectorAll("[role=option]")); }
  function current() { return popup.querySelector("[role=option][aria-selected=true]"); }

  function choose(option) {
    options().forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open() {
    if (!popup.firstElementChild || !input.value.trim()) { return; }
    popup.hidden = false;
    input.setAttribute("aria-expanded", options().length ? "true" : "false");
  }

  function close() {
    popup.hidden = true;
    input.setAttribute("aria-expanded", "false");
    choose(null);
  }

  function follow(option) {
    var href = option && option.getAttribute("data-href");
    if (href) { window.location.assign(href); }
  }

  // New results: show them, none chosen yet, and say how many (the live region).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== popup) { return; }
    if (!input.value.trim()) { popup.innerHTML = ""; close(); return; }
    choose(null);
    if (document.activeElement === input) { open(); }
    var status = popup.querySelector("[data-gsearch-status]");
    live.textContent = status ? status.textContent.trim() : "";
  });

  input.addEventListener("input", function () {
    if (!input.value.trim()) {
      popup.innerHTML = "";
      live.textContent = "";
      close();
    }
  });

  input.addEventListener("focus", open);

  input.addEventListener("keydown", function (event) {
    var list = options();
    var index = list.indexOf(current());
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!list.length) { return; }
      event.preventDefault();
      open();
      if (event.key === "ArrowDown") {
        choose(list[index + 1] || list[0]);
      } else {
        choose(index > 0 ? list[index - 1] : list[list.length - 1]);
      }
    } else if (event.key === "Enter") {
      if (!popup.hidden && current()) {
        event.preventDefault();
        follow(current());
      }
    } else if (event.key === "Escape") {
      if (!popup.hidden) {
        event.preventDefault();  // the first Escape closes the list, the next clears the field
        close();
      }
    }
  });

  popup.addEventListener("click", function (event) {
    follow(event.target.closest("[role=option]"));
  });

  // Hovering an option chooses it, so that the mouse and the keyboard agree.
  popup.addEventListener("mousemove", function (event) {
    var option = event.target.closest("[role=option]");
    if (option && option !== current()) { choose(option); }
  });

  // Focus or a click elsewhere closes the list.
  document.addEventListener("focusin", function (event) {
    if (!form.contains(event.target)) { close(); }
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) { close(); }
  });

  // "/" focuses the search, unless one is typing in a field or a dialog is open.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) {
      return;
    }
    var target = event.target;
    if (target.isContentEditable || (target.closest && target.closest("input, textarea, select, dialog[open]"))) {
      return;
    }
    if (document.querySelector("dialog[open]")) { return; }
    event.preventDefault();
    input.focus();
    input.select();
  });
})();
