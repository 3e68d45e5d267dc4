// partnerdesk's cursor-based incremental ticket export driven by node-zendesk (unmodified, from npm): its
// `ticketexport.exportCursor(start_time, cursor)`, page after page until `end_of_stream`, on SQLite and PostgreSQL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import zendesk from "node-zendesk";
import { startServer, postgresReachable } from "./harness.mjs";

// What was just written is exported once the server's horizon has passed it (it trails the clock by one second).
const settle = () => new Promise((r) => setTimeout(r, 1500));

for (const backend of ["sqlite", "postgres"]) {
  const skip = backend === "postgres" && !postgresReachable() && "PostgreSQL is not reachable";
  let server, admin, partner;

  const clientFor = (email) => zendesk.createClient({ username: email, token: server.token(email), endpointUri: `${server.base}/api/v2` });

  async function createTicket(subject) {
    const r = await fetch(`${server.base}/api/v2/tickets.json`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token("admin@vendor.example")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ ticket: { subject, comment: { body: "Exported." } } }),
    });
    const body = await r.text();
    assert.equal(r.status, 201, body);
    return JSON.parse(body).ticket.id;
  }

  /** Every page from `start_time` (or `cursor`) until end_of_stream, as node-zendesk hands them over. */
  async function exportAll(client, startTime, cursor) {
    const tickets = [];
    let page;
    for (let n = 0; n < 100; n++) {
      ({ result: page } = await client.ticketexport.exportCursor(startTime, cursor));
      tickets.push(...page.tickets);
      cursor = page.after_cursor;
      if (page.end_of_stream) return { tickets, cursor };
    }
    throw new Error("the export did not end");
  }

  test(`node-zendesk exports tickets incrementally (${backend})`, { skip }, async (t) => {
    server = await startServer(backend);
    t.after(() => server.close());
    admin = clientFor("admin@vendor.example");
    partner = clientFor("pat@acme.example");
    const start = Math.floor(Date.now() / 1000) - 60;
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push(await createTicket(`Export ${n}`));
    await settle();

    const first = await exportAll(admin, start);
    assert.deepEqual(first.tickets.map((x) => x.id), ids, "every ticket, in change order");
    assert.equal(first.tickets[2].subject, "Export 2");

    // Resumed from its cursor later: only what changed since.
    const later = await createTicket("Export 3");
    await settle();
    const second = await exportAll(admin, start, first.cursor);
    assert.deepEqual(second.tickets.map((x) => x.id), [later]);

    // An end-user may not export.
    await assert.rejects(partner.ticketexport.exportCursor(start), /403|Forbidden|access/);
  });
}
