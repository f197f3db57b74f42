package ion

import (
	"context"
	"time"
)

// TenantTemplates keeps templates: named copies of a tenant's data that
// any tenant can be loaded from, so that a seeded sandbox costs a copy of
// ready data instead of writing it row by row. Template names follow
// ValidateStateName. It is part of Stores.
type TenantTemplates interface {
	// SaveTenantTemplate copies tenant id's data as it is now (one
	// consistent point between writes) to template name, replacing a
	// template of that name. NOT_FOUND for an unknown tenant.
	SaveTenantTemplate(ctx context.Context, tenantID, name string) error
	// TenantTemplateExists reports whether template name has been saved.
	TenantTemplateExists(ctx context.Context, name string) (bool, error)
	// LoadTenantTemplate makes tenant id's data a copy of template name
	// with its times moved to end at `at`: every row's times are computed
	// from `at` and the row's id (see internal/sqlcol's RetimeStatement),
	// so that two tenants loaded from one template at different times
	// differ only by that shift. As with RestoreTenantState, calls already
	// running finish first and later ones see the loaded data. NOT_FOUND
	// for an unknown tenant or template.
	LoadTenantTemplate(ctx context.Context, tenantID, name string, at time.Time) error
	// LoadTenantTemplateAsState is LoadTenantTemplate and then
	// SaveTenantState(tenantID, state) of what it loaded: a seeded
	// sandbox's baseline. A store may keep such a state as the template
	// and `at` rather than as a copy; restoring it still gives the data as
	// loaded, even after the template is replaced or deleted. A store may
	// also load a copy it made ahead, with its times moved to a time a
	// few minutes from `at` (PostgreSQL: within postgres.TemplateCopyAge),
	// and save the state as of that time. As SaveTenantState,
	// VALIDATION_ERROR naming "name" for state EmptyTenantState.
	LoadTenantTemplateAsState(ctx context.Context, tenantID, name string, at time.Time, state string) error
	// DeleteTenantTemplate removes template name; NOT_FOUND if there is
	// none.
	DeleteTenantTemplate(ctx context.Context, name string) error
}
