/** Version of the HTTP API contract we implement (themisdb-http-api.md). */
export const API_VERSION = '1.0.1';
