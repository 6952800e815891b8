//go:build js && wasm

package isolate

import (
	"database/sql"

	"github.com/syumai/workers/cloudflare/d1"
)

// ErrNoDatabase is OpenD1's error when the worker has no such binding.
var ErrNoDatabase = d1.ErrDatabaseNotFound

// OpenD1 opens the D1 database bound as binding ([[d1_databases]] in
// wrangler.toml) as a database/sql DB, through syumai/workers' connector: a
// D1 statement is one promise the calling request starts, as the
// request-path rule asks.
func OpenD1(binding string) (*sql.DB, error) {
	c, err := d1.OpenConnector(binding)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}
