"""zenpy's search and search_export (unmodified) against partnerdesk's /api/v2/search: the query zenpy builds
from keyword arguments, results typed by result_type, offset pages, and the cursor export without a cap."""

from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Organization, Ticket, User


def client(server, email: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=server.token_for(email))


def test_zenpy_search_and_export(server):
    admin = client(server, "admin@vendor.example")
    initech = admin.organizations.create(Organization(name="Initech Search"))
    peter = admin.users.create(
        User(name="Peter Gibbons", email="peter@initech-search.example", role="end-user", organization_id=initech.id)
    )
    made = [
        admin.tickets.create(
            Ticket(subject=f"Flux capacitor {n}", comment=Comment(body="The printer jams on TPS reports."),
                   requester_id=peter.id, tags=["printer"] if n % 2 else ["tps"])
        ).ticket
        for n in range(7)
    ]
    ids = {t.id for t in made}

    # Words, a keyword argument zenpy turns into `tags:"printer"`, and type:ticket.
    found = admin.search("capacitor", type="ticket")
    assert {t.id for t in found} == ids
    assert all(type(t).__name__ == "Ticket" for t in admin.search("capacitor", type="ticket"))
    assert {t.id for t in admin.search("capacitor", type="ticket", tags="printer")} == {t.id for t in made[1::2]}
    assert {t.id for t in admin.search("capacitor", type="ticket", minus="tags:printer")} == {t.id for t in made[0::2]}
    assert {t.id for t in admin.search("\"printer jams\"", type="ticket", status="new")} == ids
    # zenpy pages through offset pages by itself.
    assert len(list(admin.search("capacitor", type="ticket", sort_by="created_at", sort_order="asc"))) == 7
    # Users and organizations come back as their own types.
    people = list(admin.search("gibbons", type="user"))
    assert [(type(u).__name__, u.id) for u in people] == [("User", peter.id)]
    orgs = list(admin.search("initech", type="organization"))
    assert [(type(o).__name__, o.id) for o in orgs] == [("Organization", initech.id)]

    # The export: cursor pages until has_more is false, every result once.
    exported = [t.id for t in admin.search_export("capacitor", type="ticket", cursor_pagination=2)]
    assert sorted(exported) == sorted(ids) and len(exported) == len(ids)

    # A partner finds their own organization's tickets, not by the words of an internal note.
    note = admin.tickets(id=made[0].id)
    note.comment = Comment(body="Internal: lumbergh wants it by Friday.", public=False)
    admin.tickets.update(note)
    assert {t.id for t in admin.search("lumbergh", type="ticket")} == {made[0].id}
    partner = client(server, "peter@initech-search.example")
    assert {t.id for t in partner.search("capacitor", type="ticket")} == ids
    assert list(partner.search("lumbergh", type="ticket")) == []
