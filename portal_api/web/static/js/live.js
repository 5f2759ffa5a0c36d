// Live view of a site: one EventSource on /api/v1/sites/<id>/live, a `power`
// event a second fills the per-phase table. No inline script (CSP): the site id
// and the translated status messages come from data- attributes.
"use strict";
(function () {
  const section = document.getElementById("live");
  if (!section) { return; }
  const status = document.getElementById("live-status");
  const timeEl = document.getElementById("live-time");
  const lang = document.documentElement.lang || "bg";
  const formats = {};
  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) { return "–"; }
    if (!formats[digits]) {
      formats[digits] = new Intl.NumberFormat(lang, {
        minimumFractionDigits: digits, maximumFractionDigits: digits,
      });
    }
    return formats[digits].format(value);
  }
  function setStatus(state) {
    status.dataset.state = state;
    status.textContent = section.dataset["msg" + state.charAt(0).toUpperCase() + state.slice(1)];
  }
  function pick(data, path) {
    const [group, key] = path.split(".");
    return data[group] ? data[group][key] : undefined;
  }
  const url = "/api/v1/sites/" + encodeURIComponent(section.dataset.siteId) + "/live";
  const source = new EventSource(url);
  setStatus("connecting");
  source.addEventListener("open", function () { setStatus("waiting"); });
  source.addEventListener("error", function () { setStatus("error"); });
  source.addEventListener("power", function (event) {
    const data = JSON.parse(event.data);
    section.querySelectorAll("[data-field]").forEach(function (cell) {
      const digits = Number(cell.dataset.digits || "0");
      cell.textContent = fmt(pick(data, cell.dataset.field), digits);
    });
    const when = new Date(data.ts_ms);
    timeEl.dateTime = when.toISOString();
    timeEl.textContent = when.toLocaleTimeString(lang);
    setStatus("live");
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
