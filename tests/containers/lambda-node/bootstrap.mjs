// A Node.js Lambda runtime for moto, in the shape moto runs one (lambci/docker-lambda's):
//   docker run <image> <handler> <event JSON>
// with the function's code in /var/task and its settings in the environment moto sets
// (_HANDLER, AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_TIMEOUT, …). It loads the handler
// module (`.mjs`, `.js` or `.cjs`, as AWS's Node runtime resolves it), calls the export with
// the event and a context, and prints the result as JSON on the last line of stdout, where
// moto reads it; a thrown error or a timeout prints `{ errorType, errorMessage }` there and
// exits 1, which moto reports as a function error. It has no `awslambda` global, so
// functions answer whole, as AWS's runtime does outside response streaming.

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TASK = '/var/task';
const [handlerName = process.env._HANDLER, eventText = '{}'] = process.argv.slice(2);
const timeoutMs = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT || 3) * 1000;
const started = Date.now();

function finish(line, code) {
  process.stdout.write(`\n${line}\n`, () => process.exit(code));
}

function fail(error) {
  console.error(error instanceof Error ? error.stack : String(error));
  const answer = {
    errorType: error instanceof Error ? error.name : 'Error',
    errorMessage: error instanceof Error ? error.message : String(error),
  };
  finish(JSON.stringify(answer), 1);
}

setTimeout(() => {
  fail(Object.assign(new Error(`Task timed out after ${timeoutMs / 1000} seconds`), { name: 'TimeoutError' }));
}, timeoutMs).unref();

try {
  const dot = handlerName.lastIndexOf('.');
  const modulePath = path.join(TASK, handlerName.slice(0, dot));
  const exportName = handlerName.slice(dot + 1);
  const file = ['.mjs', '.js', '.cjs'].map((ext) => modulePath + ext).find((f) => existsSync(f));
  if (!file) throw Object.assign(new Error(`Cannot find module '${handlerName}'`), { name: 'Runtime.ImportModuleError' });
  process.chdir(TASK);
  const loaded = await import(pathToFileURL(file).href);
  const handler = loaded[exportName] ?? loaded.default?.[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${handlerName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
  };
  const result = await handler(JSON.parse(eventText), context);
  finish(JSON.stringify(result ?? null), 0);
} catch (error) {
  fail(error);
}
