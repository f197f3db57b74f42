package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// claimLock is empty on SQLite, whose single writer already serializes
// claims.
const claimLock = ""

// hadWebhooks reports whether a tenant ever had a webhook row: its id
// sequences are only ever set by inserts and carried forward by restores,
// so without them neither the tenant nor any state saved from it holds
// webhook rows, and a restore need not open its files to carry them. On
// an error it says true, the safe answer.
func hadWebhooks(ctx context.Context, q queryer) bool {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_sequence WHERE name LIKE 'webhook\_%' ESCAPE '\'`).Scan(&n)
	return err != nil || n > 0
}

// carryWebhookTables copies the webhook tables (and their id sequences)
// of the tenant file at current into the file at restored, which is about
// to replace it. Nobody uses either file meanwhile.
func carryWebhookTables(ctx context.Context, current, restored string) error {
	db := sql.OpenDB(connector{dsn(restored, 5*time.Second, false)})
	defer db.Close()
	db.SetMaxOpenConns(1)
	// A state saved before the webhook migration gets the tables first
	// (checked first: a migration run costs more than the rest).
	var migrated int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_receivers'`).Scan(&migrated); err != nil {
		return err
	}
	if migrated == 0 {
		if err := migrate(ctx, db, tenantMigrations); err != nil {
			return err
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS cur`, current); err != nil {
		return err
	}
	var has int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM cur.sqlite_master WHERE type = 'table' AND name = 'webhook_receivers'`).Scan(&has); err != nil {
		return err
	}
	if has == 0 {
		return nil // the current file predates webhooks: nothing to keep
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // after Commit a no-op
	for i := len(webhookTables) - 1; i >= 0; i-- {
		if _, err := tx.ExecContext(ctx, `DELETE FROM main.`+webhookTables[i]); err != nil {
			return err
		}
	}
	for _, t := range webhookTables {
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+t+` SELECT * FROM cur.`+t); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM main.sqlite_sequence WHERE name = ?`, t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM cur.sqlite_sequence WHERE name = ?`, t); err != nil {
			return err
		}
	}
	return tx.Commit()
}
