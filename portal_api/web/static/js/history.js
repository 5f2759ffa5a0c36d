// History charts: energy bars (kWh per interval) with completeness shown on
// every bar, and per-phase power lines, drawn with the vendored uPlot from the
// JSON API. Completeness < 1 draws the bar paler and hatched and writes its
// percentage above it; an interval with no data draws an empty outlined slot.
"use strict";
(function () {
  const lang = document.documentElement.lang || "bg";
  const pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const kwh = new Intl.NumberFormat(lang, { maximumFractionDigits: 3 });
  const stamp = new Intl.DateTimeFormat(lang, {
    timeZone: "Europe/Sofia", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });

  // Points where a value stands alone (no neighbour to draw a line to): a single
  // day of data in a year must still be visible.
  function isolated(u, seriesIdx) {
    const ys = u.data[seriesIdx];
    const out = [];
    for (let i = 0; i < ys.length; i++) {
      if (ys[i] !== null && (i === 0 || ys[i - 1] === null) && (i === ys.length - 1 || ys[i + 1] === null)) {
        out.push(i);
      }
    }
    return out.length ? out : null;
  }
  const FULL = "#00558c";
  const PALE = "#7fa9c5";
  const PHASES = [["l1", "L1", "#8a4b00"], ["l2", "L2", "#1b1f24"], ["l3", "L3", "#6b6f75"]];

  // Charts follow their container's width (a phone turned sideways, a resized window).
  function follow(el, chart, height) {
    new ResizeObserver(function () {
      if (el.clientWidth && el.clientWidth !== chart.width) {
        chart.setSize({ width: el.clientWidth, height: height });
      }
    }).observe(el);
  }

  async function fetchAll(url) {
    // Follow the API's pagination (`next`) until every interval is loaded.
    let rows = [];
    let next = url;
    while (next) {
      const response = await fetch(next, { credentials: "same-origin" });
      if (!response.ok) { throw new Error(response.status + " " + next); }
      const body = await response.json();
      rows = rows.concat(body.results);
      next = body.next;
    }
    return rows;
  }

  function hatch(ctx) {
    const tile = document.createElement("canvas");
    tile.width = 8; tile.height = 8;
    const t = tile.getContext("2d");
    t.fillStyle = PALE; t.fillRect(0, 0, 8, 8);
    t.strokeStyle = "#ffffff"; t.lineWidth = 2;
    t.beginPath(); t.moveTo(0, 8); t.lineTo(8, 0); t.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function tickFormat(groupBy) {
    const options = {
      "15min": { hour: "2-digit", minute: "2-digit" },
      "hour": { weekday: "short", hour: "2-digit" },
      "day": { day: "numeric", month: "short" },
      "month": { month: "short", year: "numeric" },
    }[groupBy] || { day: "numeric", month: "short" };
    const f = new Intl.DateTimeFormat(lang, Object.assign({ timeZone: "Europe/Sofia" }, options));
    return function (u, splits) { return splits.map(function (s) { return f.format(new Date(s * 1000)); }); };
  }

  // Draws the bars itself (a uPlot draw hook) so each bar can have its own fill.
  function barsPlugin(rows) {
    return {
      hooks: {
        draw: [function (u) {
          const ctx = u.ctx;
          const pattern = hatch(ctx);
          ctx.save();
          ctx.font = Math.round(11 * devicePixelRatio) + "px system-ui, sans-serif";
          ctx.textAlign = "center";
          const now = Date.now() / 1000;
          const labels = [];
          rows.forEach(function (row) {
            if (row.start >= now) { return; }  // not begun yet: neither data nor a gap
            const x0 = u.valToPos(row.start, "x", true);
            const x1 = u.valToPos(row.end, "x", true);
            const width = Math.max(1, (x1 - x0) * 0.8);
            const left = x0 + (x1 - x0 - width) / 2;
            const base = u.valToPos(0, "y", true);
            if (row.import_kwh === null) {
              ctx.strokeStyle = "#a4161a"; ctx.setLineDash([3, 3]);
              ctx.strokeRect(left, base - 6 * devicePixelRatio, width, 6 * devicePixelRatio);
              ctx.setLineDash([]);
              return;
            }
            const top = u.valToPos(row.import_kwh, "y", true);
            ctx.fillStyle = row.completeness >= 1 ? FULL : pattern;
            ctx.fillRect(left, top, width, base - top);
            if (row.completeness < 1) {
              labels.push([left + width / 2, top, row.completeness]);
            }
          });
          // The figures after every bar (no later bar paints over them), skipping
          // one that would overlap the previous figure.
          let lastLabel = -Infinity;
          ctx.fillStyle = "#1b1f24";
          labels.forEach(function (label) {
            if (label[0] - lastLabel > 34 * devicePixelRatio) {
              ctx.fillText(pct.format(label[2]), label[0], label[1] - 4 * devicePixelRatio);
              lastLabel = label[0];
            }
          });
          ctx.restore();
        }],
      },
    };
  }

  async function energyChart(el) {
    const rows = (await fetchAll(el.dataset.url)).map(function (r) {
      return {
        start: Date.parse(r.interval_start) / 1000,
        end: Date.parse(r.interval_end) / 1000,
        import_kwh: r.import_kwh,
        completeness: r.completeness,
      };
    });
    el.textContent = "";
    if (!rows.length) { return; }
    const xs = rows.map(function (r) { return (r.start + r.end) / 2; });
    const ys = rows.map(function (r) { return r.import_kwh; });
    const max = Math.max(0.001, ...ys.filter(function (v) { return v !== null; }));
    const opts = {
      width: el.clientWidth || 800,
      height: 320,
      scales: {
        x: { time: true, range: [rows[0].start, rows[rows.length - 1].end] },
        y: { range: [0, max * 1.15] },
      },
      axes: [
        { values: tickFormat(el.dataset.groupBy) },
        { label: el.dataset.labelImport, values: function (u, s) { return s.map(function (v) { return kwh.format(v); }); } },
      ],
      series: [
        { label: el.dataset.labelTime, value: function (u, v) { return v === null ? "–" : stamp.format(new Date(v * 1000)); } },
        {
          label: el.dataset.labelImport,
          stroke: FULL, fill: FULL, paths: function () { return null; }, points: { show: false },
          value: function (u, v, si, i) {
            if (i === null || i === undefined) { return "–"; }
            const row = rows[i];
            if (row.import_kwh === null) { return el.dataset.labelNodata; }
            return kwh.format(row.import_kwh) + " kWh · " + el.dataset.labelCompleteness + " " + pct.format(row.completeness);
          },
        },
      ],
      plugins: [barsPlugin(rows)],
    };
    follow(el, new uPlot(opts, [xs, ys], el), 320);
  }

  async function phaseChart(el) {
    // A year is asked in quarters (the API's span limit): one URL per piece.
    let rows = [];
    for (const url of el.dataset.urls.split(" ")) {
      rows = rows.concat(await fetchAll(url));
    }
    el.textContent = "";
    if (!rows.length) { return; }
    const now = Date.now() / 1000;
    rows = rows.filter(function (r) { return Date.parse(r.interval_start) / 1000 < now; });
    if (!rows.length) { return; }
    const xs = rows.map(function (r) { return Date.parse(r.interval_start) / 1000; });
    const series = [{ label: el.dataset.labelTime, value: function (u, v) { return v === null ? "–" : stamp.format(new Date(v * 1000)); } }];
    const data = [xs];
    PHASES.forEach(function (p) {
      series.push({
        label: p[1] + ", W", stroke: p[2], width: 2, spanGaps: false,
        points: { show: false, filter: isolated, size: 6, fill: p[2] },
      });
      data.push(rows.map(function (r) { return r[p[0]] && r[p[0]].p_w !== undefined ? r[p[0]].p_w : null; }));
    });
    series.push({
      label: el.dataset.labelCompleteness, scale: "%", stroke: "#1c6b34", dash: [4, 4], width: 1,
      value: function (u, v) { return v === null ? "–" : pct.format(v); },
    });
    data.push(rows.map(function (r) { return r.completeness; }));
    follow(el, new uPlot({
      width: el.clientWidth || 800,
      height: 280,
      scales: { "%": { range: [0, 1] } },
      axes: [
        { values: tickFormat(el.dataset.groupBy) },
        { label: "W" },
        { scale: "%", side: 1, grid: { show: false }, values: function (u, s) { return s.map(function (v) { return pct.format(v); }); } },
      ],
      series: series,
    }, data, el), 280);
  }

  document.querySelectorAll("#energy-chart").forEach(function (el) {
    energyChart(el).catch(function (err) { el.textContent = String(err); });
  });
  document.querySelectorAll(".phase-chart").forEach(function (el) {
    phaseChart(el).catch(function (err) { el.textContent = String(err); });
  });
})();
