package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// BenchmarkCaptureCost measures what change capture adds to a write
// (UpdateLocation, one writer): nobody subscribed, a subscription to
// another resource, and a matching SINK and LIVE subscription (one event
// and one delivery written in the same transaction).
//
//	go test ./internal/sqlite/ -run '^$' -bench CaptureCost -benchtime 2000x
func BenchmarkCaptureCost(b *testing.B) {
	for _, tc := range []struct {
		name     string
		resource string // "" subscribes nothing
		mode     string
	}{
		{"NoSubscription", "", ""},
		{"OtherResource", ion.ResourceRun, ion.DeliverySink},
		{"MatchingSink", ion.ResourceLocation, ion.DeliverySink},
		{"MatchingLive", ion.ResourceLocation, ion.DeliveryLive},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			stores, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer stores.Close()
			if err := stores.CreateTenant(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
			ts, err := stores.Tenant(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if tc.resource != "" {
				r, err := ts.CreateWebhookReceiver(ctx, ion.WebhookReceiver{URL: "https://hooks.example/", DeliveryMode: tc.mode})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ts.CreateWebhookSubscription(ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: tc.resource, Action: ion.ActionUpdate}); err != nil {
					b.Fatal(err)
				}
			}
			loc, err := ts.CreateLocation(ctx, ion.Location{Name: "bin"})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if loc, err = ts.UpdateLocation(ctx, ion.LocationPatch{ID: loc.ID, Etag: loc.Etag, Name: ptr(fmt.Sprint("bin-", i))}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/write")
		})
	}
}
