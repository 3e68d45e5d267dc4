// Custom ticket fields driven by node-zendesk (unmodified, from npm): `ticketfields` create, list, show, count,
// update, options (createOrUpdateOption, listOptions, deleteOption) and delete, on SQLite and PostgreSQL; then a
// ticket carrying a value of the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import zendesk from "node-zendesk";
import { startServer, postgresReachable } from "./harness.mjs";

for (const backend of ["sqlite", "postgres"]) {
  const skip = backend === "postgres" && !postgresReachable() && "PostgreSQL is not reachable";

  test(`node-zendesk ticketfields (${backend})`, { skip }, async (t) => {
    const server = await startServer(backend);
    t.after(() => server.close());
    const admin = zendesk.createClient({ username: "admin@vendor.example", token: server.token("admin@vendor.example"), endpointUri: `${server.base}/api/v2` });

    const { result: field } = await admin.ticketfields.create({ ticket_field: { type: "tagger", title: "Environment",
      custom_field_options: [{ name: "Production", value: "env_production" }, { name: "Staging", value: "env_staging" }] } });
    assert.equal(field.type, "tagger");
    assert.deepEqual(field.custom_field_options.map((o) => o.value), ["env_production", "env_staging"]);
    const all = await admin.ticketfields.list();
    assert.ok(all.some((f) => f.id === field.id));
    assert.equal((await admin.ticketfields.show(field.id)).result.title, "Environment");
    const { result: count } = await admin.ticketfields.count();
    assert.ok(count.count.value >= 1, JSON.stringify(count));

    await admin.ticketfields.update(field.id, { ticket_field: { title: "Environment (where it happens)" } });
    assert.equal((await admin.ticketfields.show(field.id)).result.title, "Environment (where it happens)");
    const { result: option } = await admin.ticketfields.createOrUpdateOption(field.id, { custom_field_option: { name: "Test", value: "env_test" } });
    const { result: options } = await admin.ticketfields.listOptions(field.id);
    assert.deepEqual(options.custom_field_options.map((o) => o.value), ["env_production", "env_staging", "env_test"]);
    await admin.ticketfields.deleteOption(field.id, option.custom_field_option.id);

    const { result: ticket } = await admin.tickets.create({ ticket: { subject: "Fields from node", comment: { body: "x" },
      custom_fields: [{ id: field.id, value: "env_staging" }] } });
    assert.deepEqual(ticket.custom_fields, [{ id: field.id, value: "env_staging" }]);
    await assert.rejects(admin.tickets.create({ ticket: { subject: "Bad", comment: { body: "x" }, custom_fields: [{ id: field.id, value: "env_test" }] } }), /422|Unprocessable/);

    await admin.ticketfields.delete(field.id);
    await assert.rejects(admin.ticketfields.show(field.id), /404|not found/i);
  });
}
