package ion

import (
	"context"
	"strings"
	"time"
)

// Webhook actions (ION's WebhookSubscriptionActions).
const (
	ActionCreate = "CREATE"
	ActionUpdate = "UPDATE"
	ActionDelete = "DELETE"
)

// Webhook resources (ION's ResourceEnum), in their canonical singular
// spelling. Events of the sandbox itself (a reset, dormancy) use
// ResourceSandbox with the action in lowercase dotted form ("sandbox.reset").
const (
	ResourcePart              = "PART"
	ResourcePartInventory     = "PART_INVENTORY"
	ResourceMBomItem          = "MBOM_ITEM"
	ResourceLocation          = "LOCATION"
	ResourceProcedure         = "PROCEDURE"
	ResourceStep              = "STEP"
	ResourceRun               = "RUN"
	ResourceRunStep           = "RUN_STEP"
	ResourceBuildRequirement  = "BUILD_REQUIREMENT"
	ResourceABomInstallation  = "ABOM_INSTALLATION"
	ResourceIssue             = "ISSUE"
	ResourceSupplier          = "SUPPLIER"
	ResourcePurchaseOrder     = "PURCHASE_ORDER"
	ResourcePurchaseOrderLine = "PURCHASE_ORDER_LINE"
	ResourceFileAttachment    = "FILE_ATTACHMENT"
	ResourceSandbox           = "SANDBOX"
)

// Sandbox lifecycle events, announced through webhooks instead of one event
// per changed row.
const (
	EventSandboxReset   = "sandbox.reset"
	EventSandboxDormant = "sandbox.dormant"
)

// WebhookResources lists every resource a subscription may name.
var WebhookResources = []string{
	ResourcePart, ResourcePartInventory, ResourceMBomItem, ResourceLocation,
	ResourceProcedure, ResourceStep, ResourceRun, ResourceRunStep,
	ResourceBuildRequirement, ResourceABomInstallation, ResourceIssue,
	ResourceSupplier, ResourcePurchaseOrder, ResourcePurchaseOrderLine,
	ResourceFileAttachment, ResourceSandbox,
}

// CanonicalResource returns the singular spelling of a resource name,
// accepting any case and the plural spellings published clients send
// ("RUNS", "PART_INVENTORIES"). ok is false for an unknown name.
func CanonicalResource(name string) (canonical string, ok bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, r := range WebhookResources {
		if n == r || n == r+"S" || (strings.HasSuffix(r, "Y") && n == r[:len(r)-1]+"IES") {
			return r, true
		}
	}
	return "", false
}

// Receiver delivery modes (ION-API.md §6): production receivers are always
// LIVE; sandbox receivers default to SINK and may be switched to LIVE.
const (
	DeliveryLive = "LIVE"
	DeliverySink = "SINK"
)

// Receiver statuses. A receiver is disabled when it answers 410 Gone or has
// failed every attempt for days; LastError says why.
const (
	ReceiverActive   = "ACTIVE"
	ReceiverDisabled = "DISABLED"
)

// WebhookHeader is a custom header sent with every delivery to a receiver.
type WebhookHeader struct {
	Key   string
	Value string
}

// WebhookReceiver is a URL plus a shared secret. SharedSecret is kept
// recoverable (not hashed) because every delivery is signed with it.
type WebhookReceiver struct {
	Meta
	Name                 string
	URL                  string
	SharedSecret         string
	ExpectedResponseCode int // 0 means 200; any 2xx also counts as success
	Headers              []WebhookHeader
	DeliveryMode         string // DeliveryLive or DeliverySink
	Status               string // ReceiverActive or ReceiverDisabled
	LastError            string
	// FailingSince is when the current run of failed attempts began; nil
	// after a success.
	FailingSince *time.Time
}

// WebhookReceiverPatch changes a receiver; nil fields are unchanged. Setting
// Status to ReceiverActive re-enables a disabled receiver and clears
// LastError and FailingSince.
type WebhookReceiverPatch struct {
	ID                   ID
	Etag                 string
	Name                 *string
	URL                  *string
	SharedSecret         *string
	ExpectedResponseCode *int
	Headers              *[]WebhookHeader
	DeliveryMode         *string
	Status               *string
}

// WebhookSubscription binds a (resource, action) pair to a receiver.
type WebhookSubscription struct {
	Meta
	ReceiverID ID
	Resource   string // canonical, see CanonicalResource
	Action     string // ActionCreate, ActionUpdate or ActionDelete
}

// WebhookEvent is one committed change (or a synthetic event) as every
// subscriber sees it. Data is the JSON object {"new","old","changed_fields"}.
type WebhookEvent struct {
	ID        ID
	Resource  string
	Action    string
	ObjectID  ID
	Timestamp time.Time
	Data      []byte
}

// Delivery statuses. SINK deliveries are recorded, never sent.
const (
	DeliveryPending   = "PENDING"
	DeliveryDelivered = "DELIVERED"
	DeliveryFailed    = "FAILED"
	DeliveryRecorded  = "SINK"
)

// WebhookDelivery is one event for one subscription: the outbox row while
// pending, the delivery log entry afterwards. Its ID is stable across
// retries and is what the webhook-id header carries.
type WebhookDelivery struct {
	ID             ID
	Event          WebhookEvent
	SubscriptionID ID
	ReceiverID     ID
	Mode           string // the receiver's DeliveryMode when the event was recorded
	Status         string // DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryRecorded
	Attempts       int
	NextAttemptAt  time.Time
	LastAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	DeliveredAt    *time.Time
	CreatedAt      time.Time
}

// DeliveryOutcome is the result of one delivery attempt.
type DeliveryOutcome struct {
	DeliveryID  ID
	AttemptedAt time.Time
	StatusCode  int    // 0 when no response arrived
	Error       string // empty on success; never the receiver's body
	Delivered   bool
	// NextAttemptAt schedules a retry; nil with Delivered false gives up
	// (the delivery becomes FAILED).
	NextAttemptAt *time.Time
	// DisableReceiver disables the delivery's receiver with Error as its
	// LastError (410 Gone, or failing for days).
	DisableReceiver bool
}

// WebhookStore keeps one tenant's receivers, subscriptions and its outbox.
// Every committed change to a business object records, in the same
// transaction, one event and one delivery per matching subscription of an
// active receiver (PENDING for LIVE receivers, SINK for sink receivers).
type WebhookStore interface {
	CreateWebhookReceiver(ctx context.Context, in WebhookReceiver) (WebhookReceiver, error)
	UpdateWebhookReceiver(ctx context.Context, p WebhookReceiverPatch) (WebhookReceiver, error)
	// DeleteWebhookReceiver also deletes its subscriptions and its pending
	// deliveries.
	DeleteWebhookReceiver(ctx context.Context, id ID, etag string) error
	WebhookReceiver(ctx context.Context, id ID) (WebhookReceiver, error)
	WebhookReceivers(ctx context.Context, opts ListOptions) (Page[WebhookReceiver], error)

	CreateWebhookSubscription(ctx context.Context, in WebhookSubscription) (WebhookSubscription, error)
	DeleteWebhookSubscription(ctx context.Context, id ID, etag string) error
	WebhookSubscriptions(ctx context.Context, opts ListOptions) (Page[WebhookSubscription], error)

	// WebhookDeliveries is the delivery log (GraphQL webhookEvents),
	// filterable by resource, action, receiverId, status and createdAt.
	WebhookDeliveries(ctx context.Context, opts ListOptions) (Page[WebhookDelivery], error)
	// RecordWebhookEvent records a synthetic event (sandbox.reset,
	// fireWebhookEvent) and its deliveries to every matching subscription.
	RecordWebhookEvent(ctx context.Context, ev WebhookEvent) ([]WebhookDelivery, error)

	// ClaimWebhookDeliveries takes up to limit PENDING deliveries due at
	// now and leases them until now+lease (so that another replica does not
	// take them meanwhile; FOR UPDATE SKIP LOCKED on PostgreSQL).
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	// FinishWebhookDelivery records an attempt's outcome.
	FinishWebhookDelivery(ctx context.Context, o DeliveryOutcome) error
	WebhookBatchFinisher
}

// WebhookRegistry is the control store's list of tenants that have LIVE
// receivers, so that a dispatcher polls only those for due deliveries
// instead of opening every tenant.
type WebhookRegistry interface {
	// SetWebhookTenant records whether tenant has at least one active LIVE
	// receiver.
	SetWebhookTenant(ctx context.Context, tenant string, live bool) error
	WebhookTenants(ctx context.Context) ([]string, error)
}

// WebhookNotifier is implemented by Stores that tell a dispatcher, right
// after a commit, that a tenant has new PENDING deliveries; polling remains
// the safety net (other replicas, restarts).
type WebhookNotifier interface {
	OnWebhookQueued(fn func(tenant string))
}
