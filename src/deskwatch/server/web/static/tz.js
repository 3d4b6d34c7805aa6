// Tell the server this browser's time zone, so pages show times in it unless the user has
// chosen another on their account page (a cookie). The very first page, rendered before the
// server knew the zone, is loaded again once so its times are right too.
(function () {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    const read = () => {
      const c = document.cookie.split("; ").find((x) => x.startsWith("deskwatch_tz="));
      return c ? decodeURIComponent(c.split("=")[1]) : "";
    };
    if (read() !== zone) {
      document.cookie = "deskwatch_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict; max-age=31536000";
    }
    const root = document.documentElement.dataset;
    const stale = root.zone && root.zone !== zone && root.zoneChosen === "0";
    if (stale && root.reloadable === "1" && read() === zone && !sessionStorage.getItem("deskwatch_tz_reloaded")) {
      sessionStorage.setItem("deskwatch_tz_reloaded", "1");  // once: never a reload loop
      location.reload();
    }
  } catch (e) { /* an old browser, or storage refused: times stay in UTC */ }
})();
