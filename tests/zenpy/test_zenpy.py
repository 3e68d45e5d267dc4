"""An unmodified Zendesk client (zenpy, from PyPI) against partnerdesk's /api/v2."""

import pytest
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Organization, Ticket, User
from zenpy.lib.exception import APIException, RecordNotFoundException


def client(email: str, token: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=token)


def test_zenpy_end_to_end(server):
    admin = client("admin@vendor.example", server.token_for("admin@vendor.example"))
    assert admin.users.me().role == "admin"

    # An organization with notes, and a partner user in it; another organization with its own ticket.
    acme = admin.organizations.create(Organization(name="Acme Integrations", notes="Call before restarting prod", details="Tier 1 partner"))
    assert acme.notes == "Call before restarting prod"
    other = admin.organizations.create(Organization(name="Globex", notes="Globex secret"))
    pat = admin.users.create(User(name="Pat Partner", email="pat@acme.example", role="end-user", organization_id=acme.id))
    sid = admin.users.create(User(name="Sid", email="sid@globex.example", role="end-user", organization_id=other.id))
    assert pat.organization_id == acme.id

    # A ticket with a comment, for Pat; and one for Globex.
    audit = admin.tickets.create(Ticket(subject="Webhook retries", comment=Comment(body="Retries stop after 3"), requester_id=pat.id, priority="high", tags=["webhooks"]))
    ticket = audit.ticket
    assert ticket.id and ticket.requester_id == pat.id and ticket.organization_id == acme.id
    assert ticket.priority == "high" and "webhooks" in ticket.tags
    globex_ticket = admin.tickets.create(Ticket(subject="Globex only", comment=Comment(body="private"), requester_id=sid.id)).ticket

    # List, show, update.
    ids = [t.id for t in admin.tickets()]
    assert ticket.id in ids and globex_ticket.id in ids
    shown = admin.tickets(id=ticket.id)
    assert shown.subject == "Webhook retries"
    shown.status = "pending"
    shown.comment = Comment(body="Which version are you on?", public=True)
    updated = admin.tickets.update(shown)
    assert updated.ticket.status == "pending"
    bodies = [c.body for c in admin.tickets.comments(ticket=ticket.id)]
    assert bodies == ["Retries stop after 3", "Which version are you on?"]

    # The partner's own client: sees its ticket and organization, never the notes or another organization's ticket.
    partner = client("pat@acme.example", server.token_for("pat@acme.example"))
    assert partner.users.me().email == "pat@acme.example"
    mine = partner.tickets(id=ticket.id)
    assert mine.subject == "Webhook retries"
    org_seen = partner.organizations(id=acme.id)
    assert org_seen.name == "Acme Integrations"
    assert getattr(org_seen, "notes", None) is None and getattr(org_seen, "details", None) is None
    with pytest.raises(RecordNotFoundException):
        partner.tickets(id=globex_ticket.id)
    with pytest.raises(RecordNotFoundException):
        partner.organizations(id=other.id)
    assert [t.id for t in partner.tickets()] == [ticket.id]

    # Several at once (show_many): each passes the same policy as a single show.
    assert sorted(t.id for t in admin.tickets(ids=[ticket.id, globex_ticket.id])) == sorted([ticket.id, globex_ticket.id])
    assert [t.id for t in partner.tickets(ids=[ticket.id, globex_ticket.id])] == [ticket.id]

    # Zendesk's error format reaches the client: duplicate email is a 422.
    with pytest.raises(APIException):
        admin.users.create(User(name="Pat again", email="pat@acme.example"))


def test_zenpy_copies_people_on_tickets(server):
    """CCs through zenpy's own shapes: `collaborator_ids` on create, `email_ccs` changes on update."""
    admin = client("admin@vendor.example", server.token_for("admin@vendor.example"))
    acme = admin.organizations.create(Organization(name="CC Partners"))
    pia = admin.users.create(User(name="Pia", email="pia@cc.example", role="end-user", organization_id=acme.id))
    lou = admin.users.create(User(name="Lou", email="lou@cc.example", role="end-user", organization_id=acme.id))
    agent = admin.users.create(User(name="Ana", email="ana@vendor.example", role="agent"))
    ticket = admin.tickets.create(
        Ticket(subject="Copied", comment=Comment(body="Hello"), requester_id=pia.id, collaborator_ids=[lou.id])
    ).ticket
    assert ticket.email_cc_ids == [lou.id] and ticket.collaborator_ids == [lou.id]
    shown = admin.tickets(id=ticket.id)
    shown.email_ccs = [{"user_id": agent.id, "action": "put"}, {"user_email": "lou@cc.example", "action": "delete"}]
    updated = admin.tickets.update(shown).ticket
    assert updated.email_cc_ids == [agent.id]
    # Another organization's people are refused, with Zendesk's error shape.
    other = admin.organizations.create(Organization(name="Elsewhere"))
    out = admin.users.create(User(name="Out", email="out@elsewhere.example", role="end-user", organization_id=other.id))
    shown = admin.tickets(id=ticket.id)
    shown.collaborator_ids = [out.id]
    with pytest.raises(APIException):
        admin.tickets.update(shown)


def test_zenpy_ticket_tags(server):
    """zenpy's tag calls, unmodified: tickets.tags (read), set_tags (POST replaces), add_tags (PUT adds),
    delete_tags (DELETE removes); a partner reads the tags of their ticket and may change none."""
    admin = client("admin@vendor.example", server.token_for("admin@vendor.example"))
    acme = admin.organizations.create(Organization(name="Tag Partners"))
    pia = admin.users.create(User(name="Pia Tags", email="pia@tags.example", role="end-user", organization_id=acme.id))
    ticket = admin.tickets.create(Ticket(subject="Tagged", comment=Comment(body="Hello"), requester_id=pia.id, tags=["start"])).ticket

    assert list(admin.tickets.tags(ticket.id)) == ["start"]
    admin.tickets.set_tags(ticket.id, ["Needs Review", "billing"])
    assert list(admin.tickets.tags(ticket.id)) == ["needs_review", "billing"]
    admin.tickets.add_tags(ticket.id, ["vip", "billing"])
    assert list(admin.tickets.tags(ticket.id)) == ["needs_review", "billing", "vip"]
    admin.tickets.delete_tags(ticket.id, ["billing"])
    assert list(admin.tickets.tags(ticket.id)) == ["needs_review", "vip"]

    partner = client("pia@tags.example", server.token_for("pia@tags.example"))
    assert list(partner.tickets.tags(ticket.id)) == ["needs_review", "vip"]
    with pytest.raises(APIException):
        partner.tickets.add_tags(ticket.id, ["mine"])
    assert list(admin.tickets.tags(ticket.id)) == ["needs_review", "vip"]
