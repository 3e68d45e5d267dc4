"""zenpy's incremental exports (cursor-based, as Zendesk recommends) against partnerdesk's /api/v2/incremental."""

import time

import pytest
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Organization, Ticket, User
from zenpy.lib.exception import APIException

# What was just written is exported once the server's horizon has passed it (it trails the clock by one second).
SETTLE = 1.5


def client(server, email: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=server.token_for(email))


def test_zenpy_incremental_exports(server):
    admin = client(server, "admin@vendor.example")
    start = int(time.time()) - 60
    initech = admin.organizations.create(Organization(name="Initech"))
    peter = admin.users.create(User(name="Peter", email="peter@initech.example", role="end-user", organization_id=initech.id))
    created = [
        admin.tickets.create(Ticket(subject=f"Export {n}", comment=Comment(body="TPS reports"), requester_id=peter.id)).ticket
        for n in range(5)
    ]
    time.sleep(SETTLE)

    # Two a page: zenpy follows after_url until end_of_stream.
    export = admin.tickets.incremental(start_time=start, paginate_by_time=False, per_page=2)
    exported = [(t.id, t.subject) for t in export]
    assert exported == [(t.id, t.subject) for t in created]
    assert export.end_of_stream is True

    # Later, from the cursor where that export stopped: only what changed since.
    changed = admin.tickets(id=created[1].id)
    changed.subject = "Export 1, again"
    changed.status = "pending"
    admin.tickets.update(changed)
    time.sleep(SETTLE)
    since = admin.tickets.incremental(cursor=export.after_cursor)
    assert [(t.id, t.subject, t.status) for t in since] == [(created[1].id, "Export 1, again", "pending")]

    # Users, the same way (zenpy's default for users is cursor-based too).
    users = {u.id: u for u in admin.users.incremental(start_time=start)}
    assert users[peter.id].email == "peter@initech.example"
    assert users[peter.id].organization_id == initech.id

    # An end-user may not export.
    partner = client(server, "peter@initech.example")
    with pytest.raises(APIException) as refused:
        list(partner.tickets.incremental(start_time=start, paginate_by_time=False))
    assert refused.value.response.status_code == 403
