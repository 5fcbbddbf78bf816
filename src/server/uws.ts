import uWS from 'uWebSockets.js';

/**
 * uWebSockets.js, and whether its native binary loaded. The package falls
 * back silently (apart from a console line) to a slow pure-JS shim when the
 * binary does not match the platform; the native module exports `getParts`
 * and its `App` is a native function, the shim has neither.
 */
export const uwsNative: boolean = typeof (uWS as { getParts?: unknown }).getParts === 'function' && /\[native code\]/.test(String(uWS.App));

export { uWS };
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
