//go:build js && wasm

package d1

import (
	"database/sql"

	"github.com/syumai/workers/cloudflare/d1"
)

// ErrNoDatabase is Open's error when the worker has no such binding: the
// worker then runs in KV mode.
var ErrNoDatabase = d1.ErrDatabaseNotFound

// Open opens the D1 database bound under binding in wrangler.toml.
func Open(binding string) (*sql.DB, error) {
	c, err := d1.OpenConnector(binding)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}
