package reconcile

import "sync"

// rowLocks serialises news per row, so reading a row's status and writing
// the next one cannot interleave with other news about it. Entries are
// dropped when no one holds or waits for them.
type rowLocks struct {
	mu sync.Mutex
	m  map[string]*rowLock
}

type rowLock struct {
	sync.Mutex
	refs int
}

func (k *rowLocks) lock(id string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*rowLock{}
	}
	l := k.m[id]
	if l == nil {
		l = &rowLock{}
		k.m[id] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}
