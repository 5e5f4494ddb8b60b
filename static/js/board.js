/* Sales CRM: the pipeline board's drag and drop (templates/deals/board.html), with SortableJS
   (static/vendor/sortablejs/). The board works without this file: every card's stage menu and
   Won / Lost buttons post to the same view and service (deals.views.move_view).

   A drop fills the card's own move form (stage, the target column's new order) and submits it:
   HTMX posts it and swaps in the board the server answers, so the board shows what was stored,
   and a refused move (permission, a deal moved by someone else) comes back in its place with
   the message. Moving a deal to a lost or unqualified stage (drop, stage menu or Lost button)
   first asks for the reason; Cancel puts the card back. */
(function () {
  "use strict";

  var CLOSING = { lost: "loss_reason", unqualified: "unqualified_reason" };
  var pending = null; // the drop waiting for an answer: {item, from, next, form}

  function cardIds(list) {
    return Array.from(list.querySelectorAll(":scope > .deal-card")).map(function (card) {
      return card.dataset.deal;
    });
  }

  function putBack(drop) {
    if (drop && drop.from) {
      drop.from.insertBefore(drop.item, drop.next && drop.next.parentNode === drop.from ? drop.next : null);
    }
  }

  // A hidden field of a move form, added on first use (the cards carry only what the
  // no-JavaScript path needs, to keep the board's HTML small).
  function field(form, name) {
    var input = form.querySelector("input[name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }

  // The category (open, won, lost, unqualified) of a stage, from the board's columns.
  function stageCategory(stageId) {
    var list = document.querySelector("[data-list-stage='" + stageId + "']");
    return list ? list.dataset.category : "";
  }

  function moveForm(card) {
    return card.querySelector("form.deal-card__move");
  }

  // The category of the stage a move form is about to send the deal to.
  function targetCategory(form, submitter) {
    if (submitter && submitter.name === "outcome") {
      return submitter.value;
    }
    return stageCategory(form.querySelector("select[name=stage]").value);
  }

  function resetForm(form) {
    var select = form.querySelector("select[name=stage]");
    var from = form.querySelector("input[name=from_stage]").value;
    select.value = from;
    delete form.dataset.reasonAsked;
    ["order", "loss_reason", "unqualified_reason"].forEach(function (name) {
      field(form, name).value = "";
    });
  }

  // Ask for the reason of a loss / an unqualified deal; answer(true) once given, answer(false)
  // on Cancel or Escape.
  function askReason(form, category, answer) {
    var dialog = document.getElementById("board-reason");
    if (!dialog || typeof dialog.showModal !== "function") {
      answer(true);
      return;
    }
    dialog.querySelectorAll("[data-reason-for]").forEach(function (part) {
      part.hidden = part.dataset.reasonFor !== category;
    });
    var card = form.closest(".deal-card");
    var name = card ? card.querySelector(".deal-card__name") : null;
    dialog.querySelector("[data-reason-deal]").textContent = name ? name.textContent : "";
    var select = dialog.querySelector("[data-reason-select=" + CLOSING[category] + "]");
    select.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") {
        field(form, CLOSING[category]).value = select.value;
        answer(true);
      } else {
        answer(false);
      }
    });
    dialog.showModal();
    select.focus();
  }

  // Every move of the board's forms (drop, stage menu, Won / Lost) passes here before HTMX
  // sends it: a closing move waits for its reason.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form.deal-card__move")) {
      return;
    }
    var trigger = event.detail.triggeringEvent;
    var category = targetCategory(form, trigger && trigger.submitter);
    if (!CLOSING[category] || form.dataset.reasonAsked === "true") {
      delete form.dataset.reasonAsked;
      return;
    }
    event.preventDefault();
    var drop = pending;
    askReason(form, category, function (ok) {
      if (ok) {
        form.dataset.reasonAsked = "true";
        event.detail.issueRequest(true);
      } else {
        pending = null;
        resetForm(form);
        putBack(drop);
      }
    });
  });

  // A failed request (server error, no network) puts the dropped card back.
  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var form = event.detail.elt;
      if (pending && form && pending.form === form) {
        resetForm(form);
        putBack(pending);
        pending = null;
      }
    });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (pending && event.detail.elt === pending.form && event.detail.successful) {
      pending = null;
    }
  });

  // SortableJS animates the cards through their style (left empty afterwards); htmx's settle
  // copies an old element's attributes onto its new twin, and a copied style attribute is an
  // inline style the CSP refuses. Drop them before the board is swapped.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "results") {
      target.querySelectorAll(".board [style]").forEach(function (element) {
        element.removeAttribute("style");
      });
    }
  });

  function onEnd(event) {
    var item = event.item;
    var to = event.to;
    if (event.from === to && event.oldIndex === event.newIndex) {
      return;
    }
    var form = moveForm(item);
    if (!form) {
      putBack({ item: item, from: event.from, next: item._boardNext });
      return;
    }
    pending = { item: item, from: event.from, next: item._boardNext, form: form };
    form.querySelector("select[name=stage]").value = to.dataset.listStage;
    field(form, "order").value =
      to.dataset.sortable === "true" ? cardIds(to).join(",") : "";
    form.requestSubmit();
  }

  function init(root) {
    if (typeof window.Sortable === "undefined") {
      return;
    }
    var lists = root.querySelectorAll ? root.querySelectorAll("[data-board-list]") : [];
    lists.forEach(function (list) {
      if (list.dataset.sortableReady) {
        return;
      }
      list.dataset.sortableReady = "true";
      window.Sortable.create(list, {
        group: "deals",
        sort: list.dataset.sortable === "true",
        draggable: ".deal-card[data-draggable]",
        filter: "select, button, input, label",
        preventOnFilter: false,
        // Mouse and touch events rather than the browser's native drag and drop: the same
        // behaviour everywhere, a card that follows the pointer, scrolling boards.
        forceFallback: true,
        fallbackOnBody: true,
        fallbackTolerance: 4,
        delay: 150,
        delayOnTouchOnly: true,
        animation: 120,
        ghostClass: "deal-card--ghost",
        chosenClass: "deal-card--chosen",
        dragClass: "deal-card--drag",
        // SortableJS sets "will-change" on the chosen card, then clones it (the ghost and the
        // clone it keeps): a copied style attribute is an inline style the CSP refuses
        // (style-src 'self'). The card keeps no style of its own.
        onChoose: function (event) {
          event.item.removeAttribute("style");
        },
        onStart: function (event) {
          event.item._boardNext = event.item.nextElementSibling;
          document.body.classList.add("is-dragging");
        },
        onUnchoose: function () {
          document.body.classList.remove("is-dragging");
        },
        onEnd: onEnd,
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
