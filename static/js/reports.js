/* Sales CRM reports: draws a report's chart from the figures the page carries in a
   json_script block (#report-chart-data), the same figures as its table. Runs on load and
   again whenever HTMX swaps in new results (a filter changed). No inline script: CSP. */
(function () {
  "use strict";

  var PALETTE = ["#1d5bd6", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
  var chart = null;

  // A horizontal chart's category labels ("Leads unqualified: No reason given") cut to what
  // its width holds, with an ellipsis: on a phone the longest were clipped at the left edge.
  // The tooltip and the table below keep the whole label.
  function shortLabels(limit) {
    return function (value) {
      var label = String(this.getLabelForValue(value));
      return label.length > limit ? label.slice(0, limit - 1) + "\u2026" : label;
    };
  }

  function draw() {
    var data = document.getElementById("report-chart-data");
    // Found by class, not id: htmx copies the attributes of an element with the same id onto
    // its replacement (settling), and a copied style attribute is an inline style CSP refuses.
    var canvas = document.querySelector("canvas.report__canvas");
    if (chart) {
      chart.destroy();
      chart = null;
    }
    if (!data || !canvas || typeof window.Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(data.textContent);
    var horizontal = spec.indexAxis === "y";
    var datasets = spec.datasets.map(function (set, i) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderRadius: 3
      };
    });
    canvas.parentElement.classList.toggle("report__chart--tall", horizontal && spec.labels.length > 8);
    chart = new window.Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.indexAxis || "x",
        locale: document.documentElement.lang || "en",
        maintainAspectRatio: false,
        responsive: true,
        animation: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { ticks: { autoSkip: !horizontal } },
          y: horizontal
            ? {
                beginAtZero: true,
                ticks: {
                  autoSkip: false,
                  callback: shortLabels(Math.max(12, Math.floor(canvas.parentElement.clientWidth / 22)))
                }
              }
            : { beginAtZero: true }
        }
      }
    });
    canvas.dataset.drawn = String(spec.labels.length);
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "results") {
      draw();
    }
  });
})();
