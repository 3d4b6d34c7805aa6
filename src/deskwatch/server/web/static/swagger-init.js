// Swagger UI for /api/docs, reading the server's own OpenAPI document. No deep links: they
// put a link inside each operation's expand button, which screen readers cannot use.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: false });
