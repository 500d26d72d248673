// Pier's entry point on AWS Lambda: the handler every Pier function version names
// (`___pier/lambda.handler`). The function's zip holds the bundle at its root and this folder
// beside it: `launcher.mjs` (the same launcher the local runtime runs) and `config.json`
// (the bundle's handler path and whether Vercel's helpers are on).
//
// The proxy invokes with an event of its own shape (never API Gateway's):
//   { "method": "GET", "url": "/api/hello?x=1", "headers": [["host", "…"], …],
//     "body": "<base64>" }
// On the first invocation the launcher serves the bundle on a loopback port; every
// invocation is forwarded to it as an HTTP request, so a handler sees the same `req`/`res`
// (or Web `Request`) as under `pier serve`.
//
// The answer, in one of two shapes the proxy reads (it tells them apart by the NUL bytes):
// - streamed, where the runtime offers response streaming (`awslambda.streamifyResponse`):
//   `awslambda.HttpResponseStream` writes the JSON prelude { statusCode, headers: [[name,
//   value], …] }, eight NUL bytes, then the body as the function writes it;
// - whole, elsewhere: { statusCode, headers, body: "<base64>" } as the invocation's result.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

import { serve } from './launcher.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(readFileSync(path.join(here, 'config.json'), 'utf8'));
const agent = new http.Agent({ keepAlive: true });
let listening;

function port() {
  listening ??= serve(path.dirname(here), config.handler, config.helpers).then(
    (server) => server.address().port,
  );
  return listening;
}

async function forward(event) {
  const at = await port();
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: at,
        method: event.method,
        path: event.url,
        headers: (event.headers || []).flat(),
        setHost: false,
        agent,
      },
      resolve,
    );
    request.on('error', reject);
    request.end(event.body ? Buffer.from(event.body, 'base64') : undefined);
  });
}

function head(response) {
  const headers = [];
  for (let i = 0; i < response.rawHeaders.length; i += 2) {
    headers.push([response.rawHeaders[i], response.rawHeaders[i + 1]]);
  }
  return { statusCode: response.statusCode, headers };
}

async function whole(event) {
  const response = await forward(event);
  const chunks = [];
  for await (const chunk of response) chunks.push(chunk);
  return { ...head(response), body: Buffer.concat(chunks).toString('base64') };
}

/* global awslambda */
const streams = typeof awslambda !== 'undefined' && typeof awslambda.streamifyResponse === 'function';

export const handler = streams
  ? awslambda.streamifyResponse(async (event, responseStream) => {
      const response = await forward(event);
      const body = awslambda.HttpResponseStream.from(responseStream, head(response));
      await pipeline(response, body);
    })
  : whole;
