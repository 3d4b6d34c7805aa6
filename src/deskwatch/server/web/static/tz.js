// Tell the server this browser's time zone, so pages show times in it unless the user
// has chosen another on their account page (a cookie, read on the next page).
(function () {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const now = document.cookie.split("; ").find((c) => c.startsWith("deskwatch_tz="));
    if (zone && (!now || decodeURIComponent(now.split("=")[1]) !== zone)) {
      document.cookie = "deskwatch_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict; max-age=31536000";
    }
  } catch (e) { /* an old browser: UTC */ }
})();
