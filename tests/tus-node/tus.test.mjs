// partnerdesk's tus 1.0 large-file uploader (/api/v2/large_uploads/) driven by tus-js-client, unmodified, from npm.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tus from "tus-js-client";
import { startServer, randomFile, sha256, MiB } from "./harness.mjs";

const CHUNK = 5 * MiB;
let server, pat, sid, dir;

before(async () => {
  server = await startServer();
  pat = server.token("pat@acme.example");
  sid = server.token("sid@globex.example");
  dir = mkdtempSync(join(tmpdir(), "partnerdesk-tus-node-files-"));
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs one tus-js-client Upload to its end (onSuccess), to an abort (once progress passes the fraction `abortAt`
 * of the file, or when the promise `abortWhen` resolves), or to onError (rejects with the client's error).
 * Returns what the client did: the offsets of its PATCHes, its POSTs and HEADs, the progress it reported and the
 * bytes the server acknowledged.
 */
function run(file, { token = pat, ticketId, name, abortAt, abortWhen, onProgress, previous, ...options }) {
  const log = { url: null, posts: 0, heads: 0, patchOffsets: [], progress: [], accepted: 0, aborted: false };
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: server.endpoint,
      headers: server.auth(token),
      metadata: { filename: name, ticket_id: String(ticketId) },
      chunkSize: CHUNK,
      retryDelays: [0, 500, 1000],
      ...options,
      onBeforeRequest(req) {
        const method = req.getMethod();
        if (method === "POST") log.posts++;
        if (method === "HEAD") log.heads++;
        if (method === "PATCH") log.patchOffsets.push(Number(req.getHeader("Upload-Offset")));
      },
      onProgress(sent, total) {
        log.progress.push(sent);
        onProgress?.(sent, total);
        if (abortAt != null && !log.aborted && sent > abortAt * total) {
          log.aborted = true;
          upload.abort().then(() => resolve({ ...log, url: upload.url }), reject);
        }
      },
      onChunkComplete(chunkSize) { log.accepted += chunkSize; },
      onSuccess() { resolve({ ...log, url: upload.url }); },
      onError: reject,
    });
    abortWhen?.then(() => {
      log.aborted = true;
      upload.abort().then(() => resolve({ ...log, url: upload.url }), reject);
    });
    if (previous) {
      upload.findPreviousUploads().then((found) => {
        log.previous = found;
        if (found.length) upload.resumeFromPreviousUpload(found[0]);
        upload.start();
      }, reject);
    } else {
      upload.start();
    }
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The server's offset once the interrupted PATCH has been recorded (it finishes in a task of its own, which on a
 * busy machine can take a while): the first offset past `above` that then stays the same for a second.
 */
async function settledOffset(url, above = -1) {
  const deadline = Date.now() + 20000;
  let last = await server.offset(pat, url);
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = await server.offset(pat, url);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (last > above && Date.now() - since >= 1000) {
      return last;
    }
  }
  return last;
}

/** The whole file is an attachment of the ticket: same size, same sha256, and it downloads byte for byte. */
async function assertAttached(ticketId, file) {
  const att = await server.lastAttachment(pat, ticketId);
  assert.equal(att.file_name, file.name);
  assert.equal(att.size, file.size);
  assert.equal(att.sha256, file.sha256);
  const got = await server.download(pat, att.content_url);
  assert.equal(got.length, file.size);
  assert.equal(sha256(got), file.sha256);
}

test("plain upload of a Buffer in 5 MiB PATCHes", async () => {
  const file = randomFile(dir, "plain.bin");
  const ticketId = await server.createTicket(pat);
  const r = await run(file.bytes, { ticketId, name: file.name });
  assert.equal(r.posts, 1);
  assert.deepEqual(r.patchOffsets, [0, 1, 2, 3, 4].map((i) => i * CHUNK));
  assert.equal(r.accepted, file.size);
  assert.ok(r.url.startsWith(server.endpoint), r.url);
  assert.equal(await server.offset(pat, r.url), file.size);
  await assertAttached(ticketId, file);
});

test("creation-with-upload from a file stream", async () => {
  const file = randomFile(dir, "stream.bin");
  const ticketId = await server.createTicket(pat);
  const r = await run(createReadStream(file.path), {
    ticketId, name: file.name, uploadSize: file.size, uploadDataDuringCreation: true,
  });
  assert.equal(r.posts, 1);
  assert.deepEqual(r.patchOffsets, [1, 2, 3, 4].map((i) => i * CHUNK), "the first chunk went with the POST");
  await assertAttached(ticketId, file);
});

test("resume with uploadUrl after upload.abort() at 30% progress", async (t) => {
  const file = randomFile(dir, "aborted.bin");
  const ticketId = await server.createTicket(pat);
  const first = await run(file.bytes, { ticketId, name: file.name, abortAt: 0.3 });
  assert.ok(first.aborted && first.url);
  const offset = await settledOffset(first.url);
  assert.ok(offset > 0, `the server kept what arrived (offset ${offset})`);
  assert.ok(offset < file.size);
  t.diagnostic(`aborted at offset ${offset} of ${file.size}`);

  const second = await run(file.bytes, { ticketId, name: file.name, uploadUrl: first.url });
  assert.equal(second.posts, 0, "no new upload was created");
  assert.equal(second.heads, 1);
  assert.equal(second.patchOffsets[0], offset, "the second run went on from the server's offset");
  assert.ok(second.progress[0] >= offset && second.progress[0] > 0, `first progress ${second.progress[0]}`);
  assert.equal(second.accepted, file.size - offset, "only the rest of the file was sent");
  await assertAttached(ticketId, file);
});

test("resume after the transfer is aborted while a PATCH is half sent", async (t) => {
  const file = randomFile(dir, "cut.bin");
  const ticketId = await server.createTicket(pat);
  // The proxy stops forwarding halfway through the second PATCH's body; the client is aborted there and the
  // connection cut (the server sees the body end early).
  const held = server.proxy.holdAfter(CHUNK + CHUNK / 2);
  const first = await run(file.bytes, { ticketId, name: file.name, abortWhen: held });
  server.proxy.cutHeld();
  assert.ok(first.aborted && first.url);
  assert.deepEqual(first.patchOffsets, [0, CHUNK]);
  const offset = await settledOffset(first.url, CHUNK);
  t.diagnostic(`cut at offset ${offset} of ${file.size}`);
  // The first chunk, and the part of the second that arrived before the cut, are kept.
  assert.ok(offset > CHUNK && offset < 2 * CHUNK, `offset ${offset}`);

  const second = await run(file.bytes, { ticketId, name: file.name, uploadUrl: first.url });
  assert.equal(second.posts, 0, "no new upload was created");
  assert.equal(second.patchOffsets[0], offset, "the second run went on from the server's offset");
  assert.ok(second.progress[0] > 0);
  assert.equal(second.accepted, file.size - offset, "only the rest of the file was sent");
  await assertAttached(ticketId, file);
});

test("resume (findPreviousUploads) after an aborted transfer and a server restart", async (t) => {
  const file = randomFile(dir, "restart.bin");
  const ticketId = await server.createTicket(pat);
  const urlStorage = new tus.FileUrlStorage(join(dir, "tus-urls.json"));
  const opts = { ticketId, name: file.name, uploadSize: file.size, urlStorage, removeFingerprintOnSuccess: true };
  const held = server.proxy.holdAfter(2 * CHUNK + CHUNK / 3);
  const first = await run(createReadStream(file.path), { ...opts, abortWhen: held });
  server.proxy.cutHeld();
  assert.ok(first.aborted && first.url);
  const offset = await settledOffset(first.url, 2 * CHUNK);
  t.diagnostic(`cut at offset ${offset} of ${file.size}`);
  assert.ok(offset > 2 * CHUNK && offset < 3 * CHUNK, `offset ${offset}`);

  await server.restart();
  assert.equal(await server.offset(pat, first.url), offset, "the upload's state survived the restart");

  const second = await run(createReadStream(file.path), { ...opts, previous: true });
  assert.equal(second.previous.length, 1);
  assert.equal(second.previous[0].uploadUrl, first.url);
  assert.equal(second.posts, 0, "no new upload was created");
  assert.equal(second.patchOffsets[0], offset);
  assert.ok(second.progress[0] > 0);
  assert.equal(second.accepted, file.size - offset);
  assert.equal(second.url, first.url);
  await assertAttached(ticketId, file);
});

test("the server is killed (SIGKILL) while a PATCH is half sent; the upload goes on from the last recorded offset", async (t) => {
  const file = randomFile(dir, "crash.bin");
  const ticketId = await server.createTicket(pat);
  // Halfway through the third PATCH the proxy stops forwarding and the client is aborted; the server is left
  // waiting for the rest of that body, and is killed there.
  const held = server.proxy.holdAfter(2 * CHUNK + CHUNK / 2);
  const first = await run(file.bytes, { ticketId, name: file.name, abortWhen: held.then(() => sleep(300)) });
  assert.ok(first.aborted && first.url);
  assert.deepEqual(first.patchOffsets, [0, CHUNK, 2 * CHUNK]);
  try {
    const id = new URL(first.url).pathname.split("/").pop();
    t.diagnostic(`staging file before the kill: ${statSync(join(server.dataDir, "staging", id)).size} bytes`);
  } catch { /* where the server stages bytes is its business */ }
  await server.crashAndRestart();
  server.proxy.cutHeld();
  const offset = await server.offset(pat, first.url);
  t.diagnostic(`offset after the crash ${offset}`);
  assert.equal(offset, 2 * CHUNK, "the chunk in flight was not recorded, the two before it were");

  const second = await run(file.bytes, { ticketId, name: file.name, uploadUrl: first.url });
  assert.equal(second.posts, 0);
  assert.deepEqual(second.patchOffsets, [2 * CHUNK, 3 * CHUNK, 4 * CHUNK]);
  assert.equal(second.accepted, file.size - offset);
  await assertAttached(ticketId, file);
});

test("the server restarts during the upload and the client's retries carry it through", async (t) => {
  const file = randomFile(dir, "retry.bin");
  const ticketId = await server.createTicket(pat);
  let restarting = null;
  const r = await run(file.bytes, {
    ticketId, name: file.name,
    retryDelays: [0, 500, 1000, 2000, 4000, 8000],
    onProgress: (sent, total) => { if (!restarting && sent > 0.3 * total) restarting = server.restart(); },
  });
  await restarting;
  assert.ok(restarting, "the server was restarted");
  t.diagnostic(`PATCH offsets ${r.patchOffsets.join(", ")}; HEADs ${r.heads}`);
  assert.equal(r.posts, 1, "the same upload went on");
  assert.ok(r.heads >= 1, "the client asked for the offset after the restart");
  await assertAttached(ticketId, file);
});

test("a ticket of another organization is refused with 404", async () => {
  const file = randomFile(dir, "foreign.bin");
  const globexTicket = await server.createTicket(sid, "Globex's own ticket");
  const r = await run(file.bytes, { ticketId: globexTicket, name: file.name }).then(
    () => assert.fail("the upload should have been refused"),
    (err) => err,
  );
  assert.ok(r instanceof tus.DetailedError, String(r));
  assert.equal(r.originalRequest.getMethod(), "POST");
  assert.equal(r.originalResponse.getStatus(), 404);
});
