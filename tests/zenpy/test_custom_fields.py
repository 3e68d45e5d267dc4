"""zenpy's TicketField and CustomField (unmodified) against partnerdesk's /api/v2/ticket_fields and the
custom_fields of tickets: a drop-down defined, set on a ticket, read back, searched."""

from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, CustomField, Ticket, TicketField


def client(server, email: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=server.token_for(email))


def test_zenpy_custom_fields(server):
    admin = client(server, "admin@vendor.example")
    field = admin.ticket_fields.create(
        TicketField(
            type="tagger",
            title="Integration (zenpy)",
            custom_field_options=[
                {"name": "Acme Connector", "value": "zenpy_acme_connector"},
                {"name": "Globex Bridge", "value": "zenpy_globex_bridge"},
            ],
        )
    )
    assert field.type == "tagger"
    assert [o.value for o in field.custom_field_options] == ["zenpy_acme_connector", "zenpy_globex_bridge"]
    assert field.id in [f.id for f in admin.ticket_fields()]

    audit = admin.tickets.create(
        Ticket(subject="Custom fields via zenpy", comment=Comment(body="Which connector?"),
               custom_fields=[CustomField(id=field.id, value="zenpy_globex_bridge")])
    )
    ticket = admin.tickets(id=audit.ticket.id)
    values = {f["id"]: f["value"] for f in ticket.custom_fields}
    assert values[field.id] == "zenpy_globex_bridge"
    assert "zenpy_globex_bridge" in ticket.tags

    ticket.custom_fields = [CustomField(id=field.id, value="zenpy_acme_connector")]
    admin.tickets.update(ticket)
    again = admin.tickets(id=ticket.id)
    assert {f["id"]: f["value"] for f in again.custom_fields}[field.id] == "zenpy_acme_connector"
    assert "zenpy_globex_bridge" not in again.tags

    found = admin.search(type="ticket", **{f"custom_field_{field.id}": "zenpy_acme_connector"})
    assert [t.id for t in found] == [ticket.id]
