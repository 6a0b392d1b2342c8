"""Registers the domain's Python enums as GraphQL enums once; fields annotate with them directly."""

import strawberry

from models import audit, identity, org, people
from resolvers import org as org_resolvers
from resolvers import people as people_resolvers
from resolvers.errors import ErrorCode

strawberry.enum(ErrorCode, name="ErrorCode", description="Stable error codes.")
strawberry.enum(org.OrgKind, name="OrgKind", description="Level of the administrative tree.")
strawberry.enum(org.GridType, name="GridType")
strawberry.enum(org.CultureLabel, name="CultureLabel", description="一楼一特")
strawberry.enum(org.Tenure, name="Tenure")
strawberry.enum(org.PartyOrgKind, name="PartyOrgKind")
strawberry.enum(org.WorkUnitKind, name="WorkUnitKind")
strawberry.enum(org_resolvers.OrgUnitOrder, name="OrgUnitOrder")
strawberry.enum(org_resolvers.BuildingOrder, name="BuildingOrder")
strawberry.enum(people.Gender, name="Gender")
strawberry.enum(people.Role, name="Role", description="A role held through a position.")
strawberry.enum(people.SelectionMethod, name="SelectionMethod")
strawberry.enum(people.PriorityBasis, name="PriorityBasis", description="三优先")
strawberry.enum(people.StaffKind, name="StaffKind", description="红管家")
strawberry.enum(people_resolvers.AgeBand, name="AgeBand")
strawberry.enum(people_resolvers.PersonOrder, name="PersonOrder")
strawberry.enum(identity.TokenRole, name="TokenRole", description="What an API token may do.")
strawberry.enum(audit.AuditAction, name="AuditAction")
