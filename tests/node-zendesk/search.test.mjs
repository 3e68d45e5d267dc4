// partnerdesk's search driven by node-zendesk (unmodified, from npm): `search.queryAll` through every offset page,
// `search.showResultsCount` and `search.exportResults` (cursor pages until links.next is null), on SQLite and
// PostgreSQL; a partner finds their own organization's tickets only.
import { test } from "node:test";
import assert from "node:assert/strict";
import zendesk from "node-zendesk";
import { startServer, postgresReachable } from "./harness.mjs";

for (const backend of ["sqlite", "postgres"]) {
  const skip = backend === "postgres" && !postgresReachable() && "PostgreSQL is not reachable";

  test(`node-zendesk searches (${backend})`, { skip }, async (t) => {
    const server = await startServer(backend);
    t.after(() => server.close());
    const clientFor = (email) =>
      zendesk.createClient({ username: email, token: server.token(email), endpointUri: `${server.base}/api/v2` });
    const admin = clientFor("admin@vendor.example");

    async function createTicket(subject) {
      const r = await fetch(`${server.base}/api/v2/tickets.json`, {
        method: "POST",
        headers: { Authorization: `Bearer ${server.token("admin@vendor.example")}`, "Content-Type": "application/json" },
        body: JSON.stringify({ ticket: { subject, comment: { body: "The quarterly reconciliation fails." } } }),
      });
      const body = await r.text();
      assert.equal(r.status, 201, body);
      return JSON.parse(body).ticket.id;
    }
    // More than one page of 100.
    const ids = [];
    for (let n = 0; n < 105; n++) ids.push(await createTicket(`Reconciliation ${n}`));

    const all = await admin.search.queryAll("type:ticket reconciliation");
    assert.deepEqual(all.map((r) => r.id).sort((a, b) => a - b), ids, "every result, over two pages");
    assert.ok(all.every((r) => r.result_type === "ticket"));

    const { result: counted } = await admin.search.showResultsCount("reconciliation quarterly");
    assert.equal(counted.count, 105);

    const exported = await admin.search.exportResults("reconciliation", "ticket", 40);
    assert.deepEqual(exported.map((r) => r.id).sort((a, b) => a - b), ids, "the export, 40 a page");

    // The demo partner belongs to another organization: none of these tickets is theirs.
    const partner = clientFor("pat@acme.example");
    assert.deepEqual(await partner.search.queryAll("type:ticket reconciliation"), []);
  });
}
