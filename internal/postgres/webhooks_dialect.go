package postgres

import (
	"fmt"
	"strings"
)

// claimLock makes replicas skip rows another replica is claiming, so that
// no delivery is leased twice. (The tenant's write lock serializes claims
// today; the row locks keep that true if claims stop taking it.)
const claimLock = " FOR UPDATE OF d SKIP LOCKED"

// carryWebhookTables copies the webhook tables and their identity
// sequences from schema current into schema restored, which is about to
// replace it. The caller holds the tenant's lifetime lock exclusively.
func carryWebhookTables(tx *tx, latest int64, current, restored string) error {
	// Both at the latest migration (the usual case): one multi-statement
	// query, without the catalog lookups below, which scan pg_class.
	vc, err := schemaVersion(tx, current)
	if err != nil {
		return err
	}
	vr, err := schemaVersion(tx, restored)
	if err != nil {
		return err
	}
	if vc == latest && vr == latest {
		var b strings.Builder
		for i := len(webhookTables) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "DELETE FROM %s.%s;\n", quote(restored), webhookTables[i])
		}
		for _, t := range webhookTables {
			fmt.Fprintf(&b, "INSERT INTO %s.%s OVERRIDING SYSTEM VALUE SELECT * FROM %s.%s;\n", quote(restored), t, quote(current), t)
			fmt.Fprintf(&b, "SELECT setval(%s::regclass, last_value, true) FROM %s.%s WHERE is_called;\n",
				literal(quote(restored)+"."+quote(t+"_id_seq")), quote(current), quote(t+"_id_seq"))
		}
		return rawExec(tx, b.String())
	}
	for _, schema := range []string{current, restored} {
		var has bool
		if err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = 'webhook_receivers')`, schema).Scan(&has); err != nil {
			return err
		}
		if !has {
			return nil // a schema that predates webhooks: nothing to keep, or nowhere to keep it
		}
	}
	for i := len(webhookTables) - 1; i >= 0; i-- {
		if _, err := tx.exec(`DELETE FROM ` + quote(restored) + `.` + webhookTables[i]); err != nil {
			return err
		}
	}
	for _, t := range webhookTables {
		if _, err := tx.exec(`INSERT INTO ` + quote(restored) + `.` + t + ` OVERRIDING SYSTEM VALUE SELECT * FROM ` + quote(current) + `.` + t); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		var last *int64
		if err := tx.queryRow(`SELECT last_value FROM pg_sequences WHERE schemaname = ? AND sequencename = ?`, current, t+"_id_seq").Scan(&last); err != nil && !isNoRows(err) {
			return err
		}
		if last != nil {
			if _, err := tx.exec(`SELECT setval(?::text::regclass, ?, true)`, quote(restored)+"."+quote(t+"_id_seq"), *last); err != nil {
				return err
			}
		}
	}
	return nil
}
