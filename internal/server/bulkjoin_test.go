package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// bulkSandbox starts a server that may deliver to loopback receivers (with
// afterRun as its afterIdempotentRun hook) and returns a bundle on a new
// sandbox with the bulk-operations flag, its bearer token and the sandbox.
func bulkSandbox(t *testing.T, afterRun func()) (*bundle, string, sandboxCred) {
	t.Helper()
	b := setupWith(t, Config{AllowPrivateWebhooks: true, WebhookPollEvery: 20 * time.Millisecond, afterIdempotentRun: afterRun})
	// A fresh connection per request: Go's transport retries a request
	// with an Idempotency-Key that fails on a reused connection, which
	// would hide a lost answer.
	b.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	prod := b.newCredential("Acme")
	sb := b.newSandboxWith(prod.orgID, "acme-bulk", map[string]any{"features": []string{"bulk-operations"}})
	return b.at(sb.baseURL), "Bearer " + sb.token, sb
}

// TestBulkOperationsDeliverOncePerChangedObject: in a sandbox with the
// bulk-operations flag and a LIVE receiver, a refused call and a dry run
// deliver nothing; adjusting three rows delivers three signed
// PART_INVENTORY UPDATE events, one per row; canceling two runs delivers
// one RUN UPDATE per run.
func TestBulkOperationsDeliverOncePerChangedObject(t *testing.T) {
	t.Parallel()
	s, tok, sb := bulkSandbox(t, nil)
	rcv := newHookReceiver(t, "bulk-secret", nil)
	rid := s.createReceiver(tok, rcv.srv.URL, "bulk-secret", map[string]any{"deliveryMode": "LIVE"})
	s.subscribe(tok, rid, "PART_INVENTORY", "UPDATE")
	s.subscribe(tok, rid, "RUN", "UPDATE")

	var adjustments []map[string]any
	var rows []int64
	for i, pn := range []string{"B-1", "B-2", "B-3"} {
		id, etag := s.inventoryRow(sb.baseURL, sb.token, pn)
		rows = append(rows, id)
		adjustments = append(adjustments, map[string]any{"id": id, "etag": etag, "quantity": 4 + i})
	}
	stale := slices.Clone(adjustments)
	stale[2] = map[string]any{"id": rows[2], "etag": adjustments[0]["etag"], "quantity": 1}
	if r := s.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": map[string]any{"adjustments": stale}}); r.code() != "CONFLICT" {
		t.Fatalf("stale etag: %s", r.Raw)
	}
	if r := s.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": map[string]any{"adjustments": adjustments, "dryRun": true}}); len(r.Errors) > 0 {
		t.Fatalf("dry run: %s", r.Raw)
	}
	if n := len(rcv.settle()); n != 0 {
		t.Fatalf("a refused call and a dry run delivered %d events, want 0", n)
	}

	r := s.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": map[string]any{"adjustments": adjustments}})
	if len(r.Errors) > 0 {
		t.Fatalf("adjust: %s", r.Raw)
	}
	rcv.waitDeliveries(len(rows))
	got := rcv.settle()
	if len(got) != len(rows) {
		t.Fatalf("%d deliveries for %d adjusted rows, want one per row", len(got), len(rows))
	}
	seen := map[int64]bool{}
	ids := map[string]bool{}
	for i, d := range got {
		p := d.payload
		if !d.verified || p["resource"] != "PART_INVENTORY" || p["action"] != "UPDATE" || p["environment"] != "sandbox/acme-bulk" {
			t.Fatalf("delivery %d: verified=%v body %s", i, d.verified, d.body)
		}
		obj := id(p["id"])
		want := slices.Index(rows, obj)
		if want < 0 || seen[obj] {
			t.Fatalf("delivery %d is about row %d (rows %v, seen %v)", i, obj, rows, seen)
		}
		seen[obj] = true
		ids[d.header.Get("webhook-id")] = true
		if q := dig(p, "data", "new", "quantity"); q != float64(4+want) || dig(p, "data", "old", "quantity") != 10.0 {
			t.Errorf("row %d: quantity %v -> %v, want 10 -> %d", obj, dig(p, "data", "old", "quantity"), q, 4+want)
		}
		fields, _ := dig(p, "data", "changed_fields").([]any)
		if !slices.Contains(fields, any("quantity")) || slices.Contains(fields, any("status")) {
			t.Errorf("row %d: changed_fields %v", obj, fields)
		}
	}
	if len(ids) != len(rows) {
		t.Errorf("webhook-id headers %v, want one per event", ids)
	}

	proc := id(dig(s.mustGQL(tok, `mutation { createProcedure(input: {title: "Assemble"}) { procedure { id } } }`, nil), "createProcedure", "procedure", "id"))
	s.mustGQL(tok, `mutation($p: ID!) { createStep(input: {procedureId: $p, title: "Only"}) { step { id } } }`, map[string]any{"p": proc})
	var runIDs []int64
	for range 2 {
		runIDs = append(runIDs, id(dig(s.mustGQL(tok, `mutation($p: ID!) { createRun(input: {procedureId: $p}) { run { id } } }`, map[string]any{"p": proc}), "createRun", "run", "id")))
	}
	r = s.post(sb.baseURL, sb.token, cancelMutation, map[string]any{"in": map[string]any{"filters": map[string]any{"status": map[string]any{"eq": "TODO"}}}})
	if len(r.Errors) > 0 || dig(r.Data, "cancelRuns", "count") != 2.0 {
		t.Fatalf("cancelRuns: %s", r.Raw)
	}
	rcv.waitDeliveries(len(rows) + 2)
	runs := rcv.settle()[len(rows):]
	if len(runs) != 2 {
		t.Fatalf("%d deliveries for 2 canceled runs, want 2", len(runs))
	}
	var canceled []int64
	for _, d := range runs {
		if d.payload["resource"] != "RUN" || dig(d.payload, "data", "new", "status") != "CANCELED" {
			t.Fatalf("run delivery %s", d.body)
		}
		canceled = append(canceled, id(d.payload["id"]))
	}
	slices.Sort(canceled)
	if !slices.Equal(canceled, runIDs) {
		t.Fatalf("deliveries about runs %v, want %v", canceled, runIDs)
	}
}

// TestIdempotencyKeyOnBulkOperations: a keyed request holding both bulk
// operations is answered again, byte for byte, without writing twice:
// once from the stored answer, and once (the answer lost between the
// commit and the response, as in a crash) by replaying the recorded steps.
func TestIdempotencyKeyOnBulkOperations(t *testing.T) {
	t.Parallel()
	for _, lose := range []bool{false, true} {
		name := map[bool]string{false: "StoredAnswer", true: "AnswerLostAfterCommit"}[lose]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var once sync.Once
			var hook func()
			if lose {
				hook = func() { once.Do(func() { panic(http.ErrAbortHandler) }) }
			}
			s, tok, sb := bulkSandbox(t, hook)
			rcv := newHookReceiver(t, "bulk-secret", nil)
			rid := s.createReceiver(tok, rcv.srv.URL, "bulk-secret", map[string]any{"deliveryMode": "LIVE"})
			s.subscribe(tok, rid, "PART_INVENTORY", "UPDATE")
			s.subscribe(tok, rid, "RUN", "UPDATE")
			row, etag := s.inventoryRow(sb.baseURL, sb.token, "K-1")
			proc := id(dig(s.mustGQL(tok, `mutation { createProcedure(input: {title: "Assemble"}) { procedure { id } } }`, nil), "createProcedure", "procedure", "id"))
			s.mustGQL(tok, `mutation($p: ID!) { createStep(input: {procedureId: $p, title: "Only"}) { step { id } } }`, map[string]any{"p": proc})
			run := id(dig(s.mustGQL(tok, `mutation($p: ID!) { createRun(input: {procedureId: $p}) { run { id } } }`, map[string]any{"p": proc}), "createRun", "run", "id"))

			const both = `mutation Both($adj: AdjustPartInventoriesInput!, $cancel: CancelRunsInput!) {
				adjustPartInventories(input: $adj) { dryRun partInventories { id quantity quantityScrapped status _etag } }
				cancelRuns(input: $cancel) { count runs { id status _etag } }
			}`
			vars := map[string]any{
				"adj":    map[string]any{"adjustments": []map[string]any{{"id": row, "etag": etag, "scrapQuantity": 2}}},
				"cancel": map[string]any{"filters": map[string]any{"status": map[string]any{"eq": "TODO"}}},
			}
			first, err := s.tryKeyed(tok, "bulk-key", both, vars)
			switch {
			case lose && err == nil:
				t.Fatalf("the first answer arrived (%+v); the hook should have lost it", first)
			case !lose && (err != nil || first.status != 200 || first.code() != ""):
				t.Fatalf("first: %+v %v", first, err)
			}
			rcv.waitDeliveries(2)
			// A run created since matches the filter: a replay must not
			// cancel it, nor scrap the row again.
			later := id(dig(s.mustGQL(tok, `mutation($p: ID!) { createRun(input: {procedureId: $p}) { run { id } } }`, map[string]any{"p": proc}), "createRun", "run", "id"))

			retry := s.keyed(tok, "bulk-key", both, vars)
			if retry.status != 200 || retry.replayed != "true" || retry.code() != "" {
				t.Fatalf("retry: %+v", retry)
			}
			if !lose && retry.body != first.body {
				t.Fatalf("retry answered %s\nwant the first answer %s", retry.body, first.body)
			}
			var ans map[string]any
			if err := json.Unmarshal([]byte(retry.body), &ans); err != nil {
				t.Fatalf("retry body %s: %v", retry.body, err)
			}
			inv := dig(ans, "data", "adjustPartInventories", "partInventories", 0)
			cr := dig(ans, "data", "cancelRuns")
			if id(dig(inv, "id")) != row || dig(inv, "quantityScrapped") != 2.0 || dig(cr, "count") != 1.0 ||
				id(dig(cr, "runs", 0, "id")) != run || dig(cr, "runs", 0, "status") != "CANCELED" {
				t.Fatalf("replayed answer %s, want row %d scrapped 2 and run %d canceled", retry.body, row, run)
			}
			now := s.mustGQL(tok, `query($i: ID!, $r: ID!) { partInventory(id: $i) { quantityScrapped } run(id: $r) { status } }`, map[string]any{"i": row, "r": later})
			if dig(now, "partInventory", "quantityScrapped") != 2.0 || dig(now, "run", "status") != "TODO" {
				t.Fatalf("after the retry: %v; it must not scrap again nor cancel the later run", now)
			}
			if again := s.keyed(tok, "bulk-key", both, vars); again.body != retry.body || again.replayed != "true" {
				t.Fatalf("second retry: %+v\nwant %s", again, retry.body)
			}
			if n := len(rcv.settle()); n != 2 {
				t.Fatalf("%d deliveries, want 2 (the retries must record no events)", n)
			}
			if strings.Contains(retry.body, "errors") {
				t.Fatalf("retry carries errors: %s", retry.body)
			}
		})
	}
}
