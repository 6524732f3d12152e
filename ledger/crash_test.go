package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestReopenAfterKill9 kills a child process with SIGKILL while it commits
// transitions as fast as it can, then reopens the ledger: it must open, pass
// integrity_check, and hold every transition the child saw committed, each
// with its event (state, attempts and events written atomically). On
// PostgreSQL the client dies mid-transaction and the server must roll back
// exactly the uncommitted part.
func TestReopenAfterKill9(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, path := b.openTemp(t)
		run := beginRun(t, l)
		for w := range 4 {
			id := fmt.Sprintf("crash-%d", w)
			upsert(t, l, run.ID, input(id, w+2, "1.00"))
			walk(t, l, id, ledger.StateRouteReady)
		}
		l.Close()

		cmd, out := startChild(t, "transitions", path)
		seen := map[string]int{}
		for lines := 0; lines < 400 && out.Scan(); lines++ {
			var id string
			var n int
			if _, err := fmt.Sscan(out.Text(), &id, &n); err != nil {
				t.Fatalf("child said %q", out.Text())
			}
			seen[id] = n
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		// Lines the child printed before it died but the loop above had not
		// read yet are commits too: read them from the pipe up to its end (a
		// line cut by the kill does not parse and is skipped), or the child's
		// lead over the reader shows up as "lost" commits.
		for out.Scan() {
			var id string
			var n int
			if _, err := fmt.Sscan(out.Text(), &id, &n); err == nil {
				seen[id] = n
			}
		}
		cmd.Wait()
		if len(seen) == 0 {
			t.Fatal("child committed nothing")
		}

		l2 := openAt(t, path)
		if b.name == "sqlite" { // PostgreSQL checks its own pages; a client's death cannot tear them
			var check string
			if err := rawDB(t, path).QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check = %q, %v", check, err)
			}
		}
		for w := range 4 {
			id := fmt.Sprintf("crash-%d", w)
			row, err := l2.Row(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// The child may have committed one more than it managed to print.
			if row.Attempts < seen[id] || row.Attempts > seen[id]+1 {
				t.Errorf("%s: attempts %d, child saw %d committed", id, row.Attempts, seen[id])
			}
			wantState := ledger.StateRouteReady
			if row.Attempts%2 == 1 {
				wantState = ledger.StateInitiating
			}
			events := 0
			for _, err := range l2.Events(ctx, ledger.EventFilter{TransferID: id, Kind: ledger.EventTransition}) {
				if err != nil {
					t.Fatal(err)
				}
				events++
			}
			walked := len(pathTo(ledger.StateRouteReady))
			if row.State != wantState || events != walked+row.Attempts {
				t.Errorf("%s: state %s with %d attempts, %d transition events", id, row.State, row.Attempts, events)
			}
		}
		// And the ledger still works.
		row, _ := l2.Row(ctx, "crash-0")
		if _, err := l2.Transition(ctx, "crash-0", row.State, row.State, ledger.RowUpdate{AddAttempts: 1}, ledger.Event{}); err != nil {
			t.Errorf("transition after reopen: %v", err)
		}
	})
}
