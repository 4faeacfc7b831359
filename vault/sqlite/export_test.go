package sqlite

import "context"

// Pragma returns the value of PRAGMA name on a connection of db's pool,
// for tests of the connection settings.
func (db *DB) Pragma(ctx context.Context, name string) (string, error) {
	var v string
	err := db.db.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	return v, err
}
