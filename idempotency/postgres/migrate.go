package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock that serialises Migrate across
// processes: servers starting together apply each migration once.
const migrationLock = 0x6964656d706f74 // "idempot"

// Migration is one versioned step of the schema, from migrations/.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the schema's steps in order of version: for a team
// that applies them with its own migration tool instead of Migrate.
func Migrations() []Migration {
	entries, _ := fs.ReadDir(migrations, "migrations") // embedded: cannot fail
	var out []Migration
	for _, e := range entries {
		version, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			panic("postgres: a migration whose name does not start with its version: " + e.Name())
		}
		sql, _ := migrations.ReadFile(path.Join("migrations", e.Name()))
		out = append(out, Migration{Version: version, Name: e.Name(), SQL: string(sql)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out
}

// Migrate brings the schema of the connection's search_path up to date:
// it applies, each in its own transaction, the migrations not yet recorded
// in idempotency_schema_migrations, and records them. Applying it again, or
// from many processes at once, changes nothing more. It returns the
// versions it applied.
func Migrate(ctx context.Context, db Beginner) ([]int, error) {
	var applied []int
	for _, m := range Migrations() {
		done, err := apply(ctx, db, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// Beginner starts transactions: a *pgxpool.Pool or a *pgx.Conn.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// apply runs m unless it is recorded, under the advisory lock, and reports
// whether it ran.
func apply(ctx context.Context, db Beginner, m Migration) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS idempotency_schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, err
	}
	var recorded bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM idempotency_schema_migrations WHERE version = $1)", m.Version).Scan(&recorded); err != nil || recorded {
		return false, err
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO idempotency_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
