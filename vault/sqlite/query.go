package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// rowsQueryer is a *sql.DB or *sql.Tx.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and scans every row with scan. op names the operation
// in errors. The rows are closed before it returns, so the caller may open
// sealed fields afterwards without holding a connection.
func queryAll[T any](ctx context.Context, q rowsQueryer, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, formatError(err))
	}
	defer rows.Close()
	var a []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		a = append(a, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, formatError(err))
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return a, nil
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execOne runs a statement that must change at least one row: none is
// not_found with notFound as its message. op names the operation in
// errors.
func execOne(ctx context.Context, q execer, op, notFound, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "%s", notFound)
	}
	return nil
}
