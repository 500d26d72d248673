// Pier's Node launcher: serves one function bundle on a loopback HTTP server. Two callers:
// - the proxy's local runtime (proxy `functions/local.rs`) writes it next to the bundles and runs
//     node launcher.mjs <bundle folder> <handler path> <helpers: 0|1> [<Unix socket path>]
//   It prints `pier:ready:socket` (or, on loopback TCP, `pier:ready:<port>`) on stdout once it
//   listens; everything else on stdout and stderr is the function's log.
// - on AWS Lambda, `lambda.mjs` (beside it in the function's zip) imports `serve` and forwards
//   each invocation to the server, so a function behaves the same in both places.
//
// Handler styles, as Vercel's Node launcher reads them:
// - Node: a function exported as default (or `module.exports`), called with Node's
//   (req, res); with helpers on, `req.query`, `req.cookies`, `req.body`, `res.status()`,
//   `res.send()`, `res.json()` and `res.redirect()` as Vercel's helpers define them;
// - Web: `export default { fetch(request) }`, or named exports per method
//   (`export function GET(request)`), answering with a `Response`.
// A handler that throws before it answers gets a 502 from the proxy (the header below tells
// it so); the error goes to stderr, never into the response.

import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const FAILED = 'x-pier-function-error';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A handler module exports nothing Pier can call. */
export class NoHandler extends Error {}

function pick(module) {
  let main = module.default;
  // TypeScript compiled to CommonJS puts the default export one level down.
  if (main && typeof main === 'object' && 'default' in main && !('fetch' in main)) {
    main = main.default;
  }
  if (typeof main === 'function') return { node: main };
  if (main && typeof main.fetch === 'function') return { web: (request) => main.fetch(request) };
  // CommonJS's `exports.GET`, compiled to an ES module, is on the default export.
  const named = METHODS.some((method) => typeof module[method] === 'function') ? module : main;
  const byMethod = Object.fromEntries(
    METHODS.filter((method) => typeof named?.[method] === 'function').map((m) => [m, named[m]]),
  );
  if (Object.keys(byMethod).length > 0) return { methods: byMethod };
  return null;
}

function failed(res, error) {
  console.error(error instanceof Error ? error.stack || String(error) : error);
  if (!res.headersSent) {
    res.writeHead(502, { [FAILED]: 'threw' });
    res.end();
  } else {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function parseCookies(header) {
  const cookies = {};
  for (const part of (header || '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (name && !(name in cookies)) {
      const value = part.slice(at + 1).trim().replace(/^"(.*)"$/, '$1');
      try {
        cookies[name] = decodeURIComponent(value);
      } catch {
        cookies[name] = value;
      }
    }
  }
  return cookies;
}

function parseBody(buffer, type) {
  if (buffer.length === 0) return undefined;
  const mime = (type || '').split(';')[0].trim().toLowerCase();
  if (mime === 'application/json') {
    try {
      return JSON.parse(buffer.toString('utf8'));
    } catch {
      const error = new Error('Invalid JSON');
      error.statusCode = 400;
      throw error;
    }
  }
  if (mime === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(buffer.toString('utf8')));
  }
  if (mime === 'text/plain') return buffer.toString('utf8');
  if (mime === 'application/octet-stream') return buffer;
  return buffer;
}

// Vercel's helpers, on classes the server creates its requests and responses from, so a
// request pays only for what its handler reads (a GET has no body to wait for).
const NO_BODY = Buffer.alloc(0);

class HelperRequest extends http.IncomingMessage {
  get query() {
    const query = {};
    for (const [key, value] of new URL(this.url, 'http://function').searchParams) {
      query[key] = key in query ? [].concat(query[key], value) : value;
    }
    Object.defineProperty(this, 'query', { value: query, enumerable: true });
    return query;
  }

  get cookies() {
    const cookies = parseCookies(this.headers.cookie);
    Object.defineProperty(this, 'cookies', { value: cookies, enumerable: true });
    return cookies;
  }

  get body() {
    const body = parseBody(this.rawBody || NO_BODY, this.headers['content-type']);
    Object.defineProperty(this, 'body', { value: body, enumerable: true });
    return body;
  }
}

class HelperResponse extends http.ServerResponse {
  status(code) {
    this.statusCode = code;
    return this;
  }

  send(body) {
    if (body === null || body === undefined) {
      this.end();
    } else if (Buffer.isBuffer(body)) {
      if (!this.getHeader('content-type')) this.setHeader('content-type', 'application/octet-stream');
      this.end(body);
    } else if (typeof body === 'object') {
      return this.json(body);
    } else {
      if (!this.getHeader('content-type')) this.setHeader('content-type', 'text/html; charset=utf-8');
      this.end(String(body));
    }
    return this;
  }

  json(value) {
    if (!this.getHeader('content-type')) this.setHeader('content-type', 'application/json; charset=utf-8');
    this.end(JSON.stringify(value));
    return this;
  }

  redirect(statusOrUrl, maybeUrl) {
    const [status, location] =
      typeof statusOrUrl === 'number' ? [statusOrUrl, maybeUrl] : [307, statusOrUrl];
    this.writeHead(status, { location }).end();
    return this;
  }
}

function hasBody(req) {
  const length = req.headers['content-length'];
  return length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
}

function toRequest(req) {
  const proto = req.headers['x-forwarded-proto'] || 'http';
  const url = new URL(req.url, `${proto}://${req.headers.host || 'localhost'}`);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const init = { method: req.method, headers };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = Readable.toWeb(req);
    init.duplex = 'half';
  }
  return new Request(url, init);
}

async function sendResponse(res, response) {
  if (!(response instanceof Response)) {
    throw new Error('the handler did not return a Response');
  }
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body) {
    res.flushHeaders();
    for await (const chunk of response.body) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
  }
  res.end();
}

/**
 * Loads the bundle's handler and serves it on `socket` (a Unix socket's path) or, without one,
 * on 127.0.0.1 (port 0: the system picks). Resolves with the listening server.
 */
export async function serve(bundle, handlerPath, helpers, socket) {
  process.chdir(bundle);
  const loaded = await import(pathToFileURL(path.join(bundle, handlerPath)).href);
  const handler = pick(loaded);
  if (!handler) {
    throw new NoHandler(
      `${handlerPath} exports no handler: export a default function (req, res), ` +
        'a default object with fetch(request), or functions named after methods (GET, POST, …)',
    );
  }
  const options = helpers ? { IncomingMessage: HelperRequest, ServerResponse: HelperResponse } : {};
  const server = http.createServer(options, async (req, res) => {
    try {
      if (handler.node) {
        // `req.body` is parsed from the whole body, so it is read first (Vercel does the same).
        if (helpers && hasBody(req)) req.rawBody = await readBody(req);
        await handler.node(req, res);
        return;
      }
      const web =
        handler.web ||
        handler.methods[req.method] ||
        (req.method === 'HEAD' ? handler.methods.GET : undefined);
      if (!web) {
        res.writeHead(405, { allow: Object.keys(handler.methods).join(', ') }).end();
        return;
      }
      await sendResponse(res, await web(toRequest(req)));
    } catch (error) {
      if (error && error.statusCode === 400 && !res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Invalid JSON\n');
        return;
      }
      failed(res, error);
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    if (socket) server.listen(socket, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

process.on('unhandledRejection', (error) => {
  console.error(error instanceof Error ? error.stack || String(error) : error);
});

// Run as a script (the local runtime), not imported (Lambda).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [bundle, handlerPath, helpersFlag, socket] = process.argv.slice(2);
  try {
    const server = await serve(bundle, handlerPath, helpersFlag === '1', socket);
    process.stdout.write(`pier:ready:${socket ? 'socket' : server.address().port}\n`);
  } catch (error) {
    // 78 tells the local runtime the module loaded but exports nothing it can call.
    console.error(error instanceof NoHandler ? error.message : error.stack || String(error));
    process.exit(error instanceof NoHandler ? 78 : 1);
  }
}
