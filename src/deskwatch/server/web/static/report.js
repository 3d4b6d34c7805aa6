// A team's day in charts (Chart.js): adherence by agent, the team's adherence by day, and
// events by type and hour. The numbers come from the page's JSON blocks; each chart has a
// table of the same numbers under it (the page without JavaScript).
(function () {
  if (!window.Chart) return;
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue("--" + name).trim() || fallback;
  const palette = ["#e0a100", "#d2453b", "#6f7bd6", "#4f97b8", "#2e9d57", "#9c5bb5", "#8a6d3b", "#5b6676"];
  const read = (id) => {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  };
  const percent = {
    min: 0,
    max: 100,
    ticks: { callback: (v) => v + "%" },
  };
  const base = { responsive: true, maintainAspectRatio: false, animation: false };

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }

  const agents = read("data-agents");
  if (agents) {
    draw("chart-agents", {
      type: "bar",
      data: {
        labels: agents.labels,
        datasets: [{ label: "adherence", data: agents.values, backgroundColor: colour("at_desk", "#2e9d57") }],
      },
      options: { ...base, indexAxis: "y", scales: { x: percent }, plugins: { legend: { display: false } } },
    });
  }
  const trend = read("data-trend");
  if (trend) {
    draw("chart-trend", {
      type: "line",
      data: {
        labels: trend.labels.map((d) => d.slice(5)),
        datasets: [{ label: "team adherence", data: trend.values, borderColor: colour("at_desk", "#2e9d57"), spanGaps: false }],
      },
      options: { ...base, scales: { y: percent }, plugins: { legend: { display: false } } },
    });
  }
  const hours = read("data-hours");
  if (hours) {
    draw("chart-hours", {
      type: "bar",
      data: {
        labels: hours.labels,
        datasets: hours.series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: palette[i % palette.length] })),
      },
      options: {
        ...base,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }
})();
