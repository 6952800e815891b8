package d1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC)

func TestDeleteExpiredIsBoundedAndKeepsLiveRows(t *testing.T) {
	t.Parallel()
	table := NewFakeTable()
	for i := range 1234 {
		table.Put(fmt.Sprint("dead-", i), Row{Completed: true, ExpiresAt: t0.Add(-time.Duration(i+1) * time.Second)})
	}
	for i := range 10 {
		table.Put(fmt.Sprint("live-", i), Row{Completed: true, ExpiresAt: t0.Add(time.Second)})
	}
	ctx := context.Background()
	deleted, err := DeleteExpired(ctx, table, t0, 500, 2)
	if err != nil || deleted != 1000 || table.Statements("DeleteExpired") != 2 {
		t.Fatalf("first run: deleted %d in %d statements (%v), want 1000 in 2", deleted, table.Statements("DeleteExpired"), err)
	}
	deleted, err = DeleteExpired(ctx, table, t0, 500, 2)
	if err != nil || deleted != 234 || table.Statements("DeleteExpired") != 3 {
		t.Fatalf("second run: deleted %d (%v), want the remaining 234 in one statement", deleted, err)
	}
	for i := range 10 {
		if _, ok := table.Row(fmt.Sprint("live-", i)); !ok {
			t.Errorf("live-%d was deleted", i)
		}
	}
	if _, ok := table.Row("dead-0"); ok {
		t.Error("an expired row survived")
	}
}

func TestCleanupJobLogsOneLine(t *testing.T) {
	t.Parallel()
	table := NewFakeTable()
	table.Put("dead", Row{ExpiresAt: t0})
	var log bytes.Buffer
	if err := CleanupJob(table, func() time.Time { return t0 }, &log)(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := log.String(); got != `{"event":"cleanup","deleted":1,"elapsedMs":0}`+"\n" {
		t.Errorf("log %q", got)
	}
	table.Fail("DeleteExpired", errors.New("D1 down"))
	log.Reset()
	if err := CleanupJob(table, func() time.Time { return t0 }, &log)(context.Background()); err == nil || !strings.Contains(log.String(), "D1 down") {
		t.Errorf("a failed run: err %v, log %q", err, log.String())
	}
}
