package sqlitestore

import (
	"database/sql"
	"errors"

	"github.com/ecsd/ecsd/internal/store"
)

// Capacity providers.

const capacityProviderColumns = "account, region, name, status, asg_arn, delete_requested_at, body, asg"

func scanCapacityProvider(row interface{ Scan(...any) error }) (store.CapacityProvider, error) {
	var (
		cp      store.CapacityProvider
		deleted sql.NullInt64
	)
	err := row.Scan(&cp.Account, &cp.Region, &cp.Name, &cp.Status, &cp.AutoScalingGroupARN, &deleted, &cp.Body, &cp.Group)
	cp.DeleteRequestedAt = toTime(deleted)
	return cp, err
}

func (t *tx) CapacityProvider(scope store.Scope, name string) (store.CapacityProvider, error) {
	cp, err := scanCapacityProvider(t.db.QueryRowContext(t.ctx, `SELECT `+capacityProviderColumns+` FROM capacity_providers
WHERE account = ? AND region = ? AND name = ?`, scope.Account, scope.Region, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.CapacityProvider{}, notFound("capacity provider %s", name)
	}
	if err != nil {
		return store.CapacityProvider{}, fail("capacity provider", err)
	}
	return cp, nil
}

func (t *tx) CapacityProviders(scope store.Scope, status string) ([]store.CapacityProvider, error) {
	query := `SELECT ` + capacityProviderColumns + ` FROM capacity_providers WHERE account = ? AND region = ?`
	args := []any{scope.Account, scope.Region}
	if status != "" {
		query += " AND status = ?"
		args = append(args, status)
	}
	cps, err := queryAll(t.ctx, t.db, query+" ORDER BY name", args, func(rows *sql.Rows) (store.CapacityProvider, error) {
		return scanCapacityProvider(rows)
	})
	if err != nil {
		return nil, fail("capacity providers", err)
	}
	return cps, nil
}

func (t *tx) AllCapacityProviders() ([]store.CapacityProvider, error) {
	cps, err := queryAll(t.ctx, t.db, `SELECT `+capacityProviderColumns+` FROM capacity_providers
WHERE status = 'ACTIVE' ORDER BY account, region, name`, nil, func(rows *sql.Rows) (store.CapacityProvider, error) {
		return scanCapacityProvider(rows)
	})
	if err != nil {
		return nil, fail("capacity providers", err)
	}
	return cps, nil
}

func (t *tx) PutCapacityProvider(cp store.CapacityProvider) error {
	if err := requireKey("put capacity provider", cp.Account, cp.Region, cp.Name, cp.Status); err != nil {
		return err
	}
	group := cp.Group
	if group == nil {
		group = []byte{}
	}
	_, err := t.db.ExecContext(t.ctx, `INSERT INTO capacity_providers (`+capacityProviderColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, region, name) DO UPDATE SET status = excluded.status, asg_arn = excluded.asg_arn,
	delete_requested_at = excluded.delete_requested_at, body = excluded.body, asg = excluded.asg`,
		cp.Account, cp.Region, cp.Name, cp.Status, cp.AutoScalingGroupARN, fromTime(cp.DeleteRequestedAt), blob(cp.Body), group)
	if err != nil {
		return fail("put capacity provider "+cp.Name, err)
	}
	return nil
}
