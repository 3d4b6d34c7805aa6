// Live board: teams of tiles, re-read whenever the server says something changed (SSE);
// durations tick on the page, long absences are highlighted, and a search box and state
// buttons filter the tiles (in the page only: nothing is sent).
(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const LABELS = {
    at_desk: "at desk", away: "away", paused: "paused",
    camera_problem: "camera problem", online: "online", offline: "offline",
  };
  const ORDER = Object.keys(LABELS);
  const ABSENT = new Set(["away", "offline"]);
  const longAfter = Number(board.dataset.longAfter || "900");
  // How far the server's clock is ahead of this browser's (durations follow the server).
  const skewMs = Number(board.dataset.now || "0") * 1000 - Date.now();
  const search = document.getElementById("board-search");
  const buttons = Array.from(document.querySelectorAll("#board-states button"));
  const shown = document.getElementById("board-shown");
  const none = document.getElementById("board-none");
  let state = "";
  let index = [];

  const clockOptions = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  let clockFmt;
  try {
    clockFmt = new Intl.DateTimeFormat("en-GB", { ...clockOptions, timeZone: board.dataset.zone });
  } catch (e) {
    clockFmt = new Intl.DateTimeFormat("en-GB", { ...clockOptions, timeZone: "UTC" });
  }

  // Like the server's |duration: "45 s", "12 min", "3 h 05 min".
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    const minutes = Math.round(s / 60);
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function counts(statuses) {
    const tally = {};
    for (const s of statuses) tally[s] = (tally[s] || 0) + 1;
    const parts = ORDER.filter((s) => tally[s]).map((s) => tally[s] + " " + LABELS[s]);
    return parts.join(" · ") || "nobody";
  }

  function div(cls, text) {
    const el = document.createElement("div");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function tile(row) {
    const el = document.createElement("div");
    el.className = "tile s-" + row.status;
    el.dataset.agent = row.agent_id;
    const link = document.createElement("a");
    link.href = "/agents/" + row.agent_id;
    link.textContent = row.name;
    const since = row.since ? clockFmt.format(new Date(row.since)) : "never";
    el.append(link, div("status", LABELS[row.status] || row.status), div("since", "since " + since));
    if (row.since) {
      const lasted = div("for", "");
      lasted.dataset.at = String(Math.floor(Date.parse(row.since) / 1000));
      el.append(lasted);
    }
    if (row.long_absence) el.append(div("long", "long absence"));
    if (row.clock) el.append(div("clock", row.clock));
    if (row.scheduled_activity) {
      el.append(div("plan", row.expected_at_desk
        ? "should be at desk (" + row.scheduled_activity + ")"
        : row.scheduled_activity + ": not expected at desk"));
    }
    return el;
  }

  function section(key, name, rows) {
    const el = document.createElement("section");
    el.className = "team";
    el.dataset.team = key;
    el.setAttribute("aria-labelledby", "team-" + key);
    const heading = document.createElement("h2");
    heading.id = "team-" + key;
    const tally = document.createElement("span");
    tally.className = "counts";
    tally.textContent = "— " + counts(rows.map((r) => r.status));
    heading.append(name + " ", tally);
    const grid = document.createElement("div");
    grid.className = "grid";
    grid.append(...rows.map(tile));
    el.append(heading, grid);
    return el;
  }

  // Teams by name (agents in no team last), as the server orders them.
  function render(rows) {
    const groups = new Map();
    for (const row of rows) {
      const key = row.team_id === null ? "none" : String(row.team_id);
      if (!groups.has(key)) groups.set(key, { name: row.team_name, id: row.team_id, rows: [] });
      groups.get(key).rows.push(row);
    }
    const ordered = Array.from(groups.entries()).sort(([, a], [, b]) => {
      if ((a.name === null) !== (b.name === null)) return a.name === null ? 1 : -1;
      if (a.name !== b.name) return a.name < b.name ? -1 : 1;
      return (a.id || 0) - (b.id || 0);
    });
    board.replaceChildren(
      ...ordered.map(([key, g]) => section(key, g.name === null ? "No team" : g.name, g.rows)),
    );
    const tally = {};
    for (const row of rows) tally[row.status] = (tally[row.status] || 0) + 1;
    for (const button of buttons) {
      const n = button.querySelector(".n");
      if (n) n.textContent = String(button.dataset.state ? tally[button.dataset.state] || 0 : rows.length);
    }
  }

  function reindex() {
    index = Array.from(board.querySelectorAll(".tile")).map((el) => {
      const lasted = el.querySelector(".for");
      return {
        el,
        name: (el.querySelector("a")?.textContent || "").toLowerCase(),
        status: (el.className.match(/\bs-(\w+)/) || [])[1] || "",
        lasted,
        at: lasted ? Number(lasted.dataset.at) : 0,
        section: el.closest(".team"),
      };
    });
  }

  // Durations and long absences as time passes (no need to ask the server).
  function tick() {
    const now = (Date.now() + skewMs) / 1000;
    for (const t of index) {
      if (!t.lasted) continue;
      const text = "for " + duration(now - t.at);
      if (t.lasted.textContent !== text) t.lasted.textContent = text;
      const long = ABSENT.has(t.status) && now - t.at > longAfter;
      const mark = t.el.querySelector(".long");
      if (long && !mark) t.el.insertBefore(div("long", "long absence"), t.el.querySelector(".clock"));
      else if (!long && mark) mark.remove();
    }
  }

  function apply() {
    const q = search ? search.value.trim().toLowerCase() : "";
    let visible = 0;
    const seen = new Map();
    for (const t of index) {
      const show = (!state || t.status === state) && (!q || t.name.includes(q));
      t.el.hidden = !show;
      if (show) visible += 1;
      if (t.section) seen.set(t.section, (seen.get(t.section) || false) || show);
    }
    for (const [sec, any] of seen) sec.hidden = !any;
    const filtered = q || state;
    if (shown) {
      shown.textContent = filtered
        ? "Showing " + visible + " of " + index.length + "."
        : "Showing all " + index.length + ".";
    }
    if (none) none.hidden = !(filtered && visible === 0 && index.length > 0);
  }

  async function refresh() {
    const reply = await fetch("/api/v1/board", { credentials: "same-origin" });
    if (!reply.ok) return;
    render(await reply.json());
    reindex();
    tick();
    apply();
    board.dataset.version = String(Number(board.dataset.version || "0") + 1);
  }

  for (const button of buttons) {
    button.addEventListener("click", () => {
      state = button.dataset.state || "";
      for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
      apply();
    });
  }
  if (search) search.addEventListener("input", apply);
  reindex();
  tick();
  apply();
  const source = new EventSource("/api/v1/board/stream");
  source.addEventListener("change", refresh);
  setInterval(tick, 15000);
  setInterval(refresh, 30000); // offline is derived from silence: re-check now and then
})();
