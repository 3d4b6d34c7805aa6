// Swagger UI for /api/docs, reading the server's own OpenAPI document.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
