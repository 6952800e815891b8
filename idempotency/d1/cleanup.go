package d1

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Cleanup bounds, per run of the cron job: rows per statement, and statements.
const (
	CleanupBatch      = 500
	CleanupMaxBatches = 20
)

// DeleteExpired removes rows that expired at now, in statements of at most
// batch rows and no more than maxBatches statements, so one run's cost is
// bounded however large the backlog; the next run continues. It returns how
// many rows it deleted.
func DeleteExpired(ctx context.Context, t Table, now time.Time, batch, maxBatches int) (int, error) {
	total := 0
	for range maxBatches {
		n, err := t.DeleteExpired(ctx, now, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
	return total, nil
}

// CleanupJob is the cron task: one bounded DeleteExpired run over t, logged
// as one JSON line.
func CleanupJob(t Table, now func() time.Time, log io.Writer) func(context.Context) error {
	return func(ctx context.Context) error {
		start := now()
		deleted, err := DeleteExpired(ctx, t, start, CleanupBatch, CleanupMaxBatches)
		line := struct {
			Event     string `json:"event"`
			Deleted   int    `json:"deleted"`
			ElapsedMs int64  `json:"elapsedMs"`
			Error     string `json:"error,omitempty"`
		}{Event: "cleanup", Deleted: deleted, ElapsedMs: now().Sub(start).Milliseconds()}
		if err != nil {
			line.Error = err.Error()
		}
		b, _ := json.Marshal(line)
		log.Write(append(b, '\n'))
		return err
	}
}
