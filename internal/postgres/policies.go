// Code generated from internal/sqlite/policies.go by `go test ./internal/postgres -run TestStoreCopies -update-copies`; DO NOT EDIT.

package postgres

import (
	"context"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

var _ ion.PolicyStore = (*ControlStore)(nil)

// SetSandboxFeatures replaces sandbox name's preview flags.
func (c *ControlStore) SetSandboxFeatures(ctx context.Context, name string, features []string) (ion.Sandbox, error) {
	if features == nil {
		features = []string{}
	}
	var out ion.Sandbox
	err := c.db.update(ctx, "set sandbox features", func(tx *tx) error {
		if _, err := getSandbox(ctx, tx, name); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE sandboxes SET features = ? WHERE name = ?`, sqlcol.EncodeList(features), name); err != nil {
			return err
		}
		var err error
		out, err = getSandbox(ctx, tx, name)
		return err
	})
	return out, err
}

// SetEnvironmentRateLimitPolicy replaces environment name's rate-limit
// policy document.
func (c *ControlStore) SetEnvironmentRateLimitPolicy(ctx context.Context, name, policy string) (ion.Environment, error) {
	var out ion.Environment
	err := c.db.update(ctx, "set environment rate-limit policy", func(tx *tx) error {
		if _, err := getEnvironment(ctx, tx, name); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE environments SET rate_limit_policy = ? WHERE name = ?`, policy, name); err != nil {
			return err
		}
		var err error
		out, err = getEnvironment(ctx, tx, name)
		return err
	})
	return out, err
}
