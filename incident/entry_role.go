package incident

import (
	"fmt"
	"strings"
)

// RoleAssignment names who holds one of the incident's roles.
type RoleAssignment struct {
	Role string `json:"role"`
	Name string `json:"name"`
}

func init() { register[RoleAssignment]() }

func (RoleAssignment) Kind() string { return "role_assigned" }

func (p RoleAssignment) Line() string { return fmt.Sprintf("role %s: %s", p.Role, p.Name) }

func (p RoleAssignment) check(r *rules) (Payload, error) {
	var err error
	if p.Role, err = cleanName("role", p.Role); err != nil {
		return nil, err
	}
	if len(r.pol.Roles) > 0 && !r.pol.KnownRole(p.Role) {
		return nil, refuse("%q is not a role of book %s; its roles: %s", p.Role, r.st.Book, strings.Join(r.pol.RoleIDs(), ", "))
	}
	if p.Name, err = cleanName("name", p.Name); err != nil {
		return nil, err
	}
	return p, nil
}

func (p RoleAssignment) trailArg() string { return p.Role }
