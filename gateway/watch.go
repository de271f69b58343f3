package main

import (
	"sync"

	"github.com/kedastral/kedastral/pkg/plan"
)

// hub fans the process's one plan-change subscription out to the open streams, so that a
// thousand streams cost Redis one subscriber, not a thousand. It is safe for concurrent use.
type hub struct {
	mu   sync.Mutex
	subs map[plan.Workload]map[chan struct{}]struct{}
}

func newHub() *hub {
	return &hub{subs: make(map[plan.Workload]map[chan struct{}]struct{})}
}

// subscribe returns a channel that becomes ready after w's plan changes, and a function that
// ends the subscription. Changes coalesce: however many arrive before the reader takes one, it
// sees one, which is all a reader that re-reads the plan needs. A slow reader never blocks the
// hub.
func (h *hub) subscribe(w plan.Workload) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[w] == nil {
		h.subs[w] = make(map[chan struct{}]struct{})
	}
	h.subs[w][ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[w], ch)
		if len(h.subs[w]) == 0 {
			delete(h.subs, w)
		}
	}
}

// run delivers each change to the subscribers of its workload until changes is closed.
func (h *hub) run(changes <-chan plan.Workload) {
	for w := range changes {
		h.mu.Lock()
		for ch := range h.subs[w] {
			select {
			case ch <- struct{}{}:
			default: // a change is already pending for this reader
			}
		}
		h.mu.Unlock()
	}
}
