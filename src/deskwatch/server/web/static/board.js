// Live board: re-render the grid whenever the server says something changed (SSE).
(function () {
  const grid = document.getElementById("board");
  if (!grid) return;
  // UTC, as the server renders it (every page says "All times are UTC").
  const fmt = (iso) => (iso ? new Date(iso).toISOString().slice(11, 19) : "never");
  function tile(row) {
    const div = document.createElement("div");
    div.className = "tile s-" + row.status;
    div.dataset.agent = row.agent_id;
    const link = document.createElement("a");
    link.href = "/agents/" + row.agent_id;
    link.textContent = row.name;
    const status = document.createElement("div");
    status.className = "status";
    status.textContent = row.status.replace("_", " ");
    const since = document.createElement("div");
    since.className = "since";
    since.textContent = "since " + fmt(row.since);
    div.append(link, status, since);
    if (row.clock) {
      const clock = document.createElement("div");
      clock.className = "clock";
      clock.textContent = row.clock;
      div.append(clock);
    }
    return div;
  }
  async function refresh() {
    const reply = await fetch("/api/v1/board", { credentials: "same-origin" });
    if (!reply.ok) return;
    const rows = await reply.json();
    grid.replaceChildren(...rows.map(tile));
    grid.dataset.version = String(Number(grid.dataset.version || "0") + 1);
  }
  const source = new EventSource("/api/v1/board/stream");
  source.addEventListener("change", refresh);
  setInterval(refresh, 30000); // offline is derived from silence: re-check now and then
})();
