"""zenpy's OrganizationField and UserField (unmodified) against partnerdesk's /api/v2/organization_fields and
/api/v2/user_fields, and the organization_fields and user_fields of organizations and users."""

from zenpy import Zenpy
from zenpy.lib.api_objects import Organization, OrganizationField, User, UserField


def client(server, email: str) -> Zenpy:
    return Zenpy(subdomain="partnerdesk", email=email, token=server.token_for(email))


def test_zenpy_organization_and_user_fields(server):
    admin = client(server, "admin@vendor.example")
    level = admin.organization_fields.create(
        OrganizationField(
            key="zenpy_support_level",
            type="dropdown",
            title="Support level (zenpy)",
            custom_field_options=[{"name": "Gold", "value": "zenpy_gold"}, {"name": "Silver", "value": "zenpy_silver"}],
        )
    )
    assert level.key == "zenpy_support_level"
    assert level.id in [f.id for f in admin.organization_fields()]
    end = admin.organization_fields.create(OrganizationField(key="zenpy_contract_end", type="date", title="Contract end"))
    assert end.type == "date"

    org = admin.organizations.create(
        Organization(name="Zenpy Fields Org", organization_fields={"zenpy_support_level": "zenpy_gold",
                                                                   "zenpy_contract_end": "2027-03-31"})
    )
    again = admin.organizations(id=org.id)
    assert again.organization_fields["zenpy_support_level"] == "zenpy_gold"
    assert again.organization_fields["zenpy_contract_end"] == "2027-03-31"
    again.organization_fields = {"zenpy_support_level": "zenpy_silver"}
    admin.organizations.update(again)
    assert admin.organizations(id=org.id).organization_fields["zenpy_support_level"] == "zenpy_silver"

    role = admin.user_fields.create(UserField(key="zenpy_partner_role", type="text", title="Partner role"))
    assert role.key == "zenpy_partner_role"
    user = admin.users.create(User(name="Zenpy Fields", email="zenpy-fields@acme.example",
                                   user_fields={"zenpy_partner_role": "Architect"}))
    assert admin.users(id=user.id).user_fields["zenpy_partner_role"] == "Architect"
