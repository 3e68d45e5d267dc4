"""Bulk jobs and create_or_update through an unmodified zenpy: create_many and create_or_update_many answer a
JobStatus, which zenpy polls at /job_statuses/{id} until the job is done."""

import time

from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Organization, Ticket, User


def client(email: str, token: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=token)


def finished(zenpy_client: Zenpy, job_id: str):
    for _ in range(400):
        status = zenpy_client.job_status(id=job_id)
        if status.status not in ("queued", "working"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def field(result, key):
    # zenpy hands results over as JobStatusResult objects or as plain dicts, depending on how it maps them.
    return result.get(key) if isinstance(result, dict) else getattr(result, key, None)


def outcome(status):
    return [(field(r, "index"), field(r, "status") or field(r, "error")) for r in status.results]


def ids(status):
    return [field(r, "id") for r in status.results]


def test_zenpy_bulk_jobs(server):
    admin = client("admin@vendor.example", server.token_for("admin@vendor.example"))

    # Organizations in bulk (zenpy's create with a list is create_many), one of them a duplicate name.
    job = admin.organizations.create([Organization(name="Bulk A", external_id="crm-a"), Organization(name="Bulk B"), Organization(name="bulk a")])
    assert job.status == "queued" and job.total == 3
    done = finished(admin, job.id)
    assert done.status == "completed" and done.progress == 3
    assert outcome(done) == [(0, "Created"), (1, "Created"), (2, "RecordInvalid")]
    org_a = ids(done)[0]

    # Users through create_or_update_many: run twice, the second run updates the same accounts.
    # (zenpy sends only the attributes changed since an object was last sent: each run gets objects of its own.)
    def people():
        return [User(name=f"Person {i}", email=f"person{i}@bulk.example", external_id=f"p-{i}", organization_id=org_a) for i in range(5)]

    first = finished(admin, admin.users.create_or_update(people()).id)
    assert [s for _, s in outcome(first)] == ["Created"] * 5
    again = finished(admin, admin.users.create_or_update(people()).id)
    assert [s for _, s in outcome(again)] == ["Updated"] * 5, [field(r, "details") for r in again.results]
    assert ids(again) == ids(first)

    # One user through create_or_update: matched by external id, renamed, the same account.
    renamed = admin.users.create_or_update(User(name="Person Zero", email="person0@bulk.example", external_id="p-0"))
    assert renamed.id == ids(first)[0] and renamed.name == "Person Zero"
    created = admin.users.create_or_update(User(name="Newcomer", email="new@bulk.example"))
    assert created.id not in ids(first)

    # One organization through create_or_update: matched by external id. (zenpy 2.0.57 has no
    # organizations.create_or_update_many endpoint: a list there fails inside zenpy; the Rust tests post it.)
    same = admin.organizations.create_or_update(Organization(name="Bulk A (renamed)", external_id="crm-a"))
    assert same.id == org_a and same.name == "Bulk A (renamed)"

    # Tickets in bulk (create_many), one naming a requester who does not exist.
    tickets = [
        Ticket(subject="Bulk one", comment=Comment(body="first"), requester_id=renamed.id),
        Ticket(subject="Bulk two", comment=Comment(body="second"), requester_id=999999),
    ]
    done = finished(admin, admin.tickets.create(tickets).id)
    assert outcome(done) == [(0, "Created"), (1, "RecordInvalid")]
    assert admin.tickets(id=ids(done)[0]).organization_id == org_a
