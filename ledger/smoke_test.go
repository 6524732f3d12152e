package ledger_test

import (
	"context"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestSmoke(t *testing.T) {
	l, _ := openTemp(t)
	run := beginRun(t, l)
	res := upsert(t, l, run.ID, input("a", 2, "10.00"), input("b", 3, "12.13"))
	t.Logf("%+v", res)
	r := walk(t, l, "a", ledger.StatePaid)
	t.Logf("%+v", r)
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{}) {
		t.Log(ev, err)
	}
}
