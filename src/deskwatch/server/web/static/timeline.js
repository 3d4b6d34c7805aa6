// An agent's day as a zoomable timeline (vis-timeline): a lane for status, one for events.
// The data comes from the page's JSON block; clicking an event opens its details and marks
// its row in the events table (which is the page without JavaScript).
(function () {
  const box = document.getElementById("timeline");
  const block = document.getElementById("timeline-data");
  if (!box || !block || !window.vis) return;
  const data = JSON.parse(block.textContent);
  const offset = data.offset_min;
  // Times in the page's zone (its offset on this day), not the browser's.
  const inZone = (date) => window.vis.moment(date).utcOffset(offset);
  const timeline = new window.vis.Timeline(box, data.items, data.groups, {
    start: data.window.start,
    end: data.window.end,
    min: data.day.start,
    max: data.day.end,
    zoomMin: 5 * 60 * 1000,
    stack: false,
    selectable: true,
    moment: inZone,
    showCurrentTime: false,
    orientation: { axis: "top" },
    margin: { item: 4 },
    tooltip: { followMouse: true },
  });
  const details = document.getElementById("event-details");
  const heads = Array.from(document.querySelectorAll("#events tr:first-child th")).map(
    (th) => th.textContent
  );
  function show(eventId) {
    document.querySelectorAll("#events tr.picked").forEach((tr) => tr.classList.remove("picked"));
    const row = document.getElementById("event-" + eventId);
    if (!row || !details) return;
    row.classList.add("picked");
    details.replaceChildren();
    const title = document.createElement("h3");
    title.textContent = "Event: " + row.cells[0].textContent;
    const list = document.createElement("dl");
    Array.from(row.cells).forEach((cell, i) => {
      if (i === 0 || !cell.textContent.trim()) return;
      const dt = document.createElement("dt");
      dt.textContent = heads[i] || "";
      const dd = document.createElement("dd");
      dd.textContent = cell.textContent.trim();
      list.append(dt, dd);
    });
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => {
      details.hidden = true;
      row.classList.remove("picked");
      timeline.setSelection([]);
    });
    details.append(title, list, close);
    details.hidden = false;
    details.dataset.event = eventId;
    row.scrollIntoView({ block: "nearest" });
    details.focus({ preventScroll: true });
  }
  timeline.on("select", (props) => {
    const id = props.items.find((i) => String(i).startsWith("ev-"));
    if (id) show(String(id).slice(3));
  });
  box.dataset.ready = "1";
})();
