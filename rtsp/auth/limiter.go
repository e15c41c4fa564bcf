package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// maxTrackedClients bounds the failure table. When it is full, the client
// whose window started first is forgotten.
const maxTrackedClients = 1024

// limiter counts failed attempts per client in fixed windows: a client
// with max failures in the window that started with its first failure is
// refused until the window ends. A success does not clear the count, so a
// client holding one account's password cannot use it to keep guessing
// another's. It is safe for concurrent use.
type limiter struct {
	max      int
	window   time.Duration
	capacity int

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *failures
	order   list.List                      // of *failures, earliest start first
}

// failures is the failure count of one client in its current window.
type failures struct {
	client netip.Prefix
	start  time.Time
	count  int
}

func newLimiter(maxFailures int, window time.Duration) *limiter {
	return &limiter{
		max:      maxFailures,
		window:   window,
		capacity: maxTrackedClients,
		clients:  make(map[netip.Prefix]*list.Element),
	}
}

// clientKey returns what failures are counted against for addr: the
// address itself for IPv4, and its /64 for IPv6, since a single host
// usually has a whole /64 to pick addresses from. IPv4-mapped IPv6
// addresses count as IPv4; the invalid address is a client of its own.
func clientKey(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := 64
	if addr.Is4() {
		bits = 32
	}
	p, _ := addr.Prefix(bits) // the zero Prefix for the invalid address
	return p
}

// blocked reports whether addr has used up its failures at now.
func (l *limiter) blocked(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[clientKey(addr)]
	if !ok {
		return false
	}
	f := e.Value.(*failures)
	if l.expired(f, now) {
		l.remove(e)
		return false
	}
	return f.count >= l.max
}

// fail records a failed attempt by addr at now.
func (l *limiter) fail(addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := clientKey(addr)
	if e, ok := l.clients[key]; ok {
		f := e.Value.(*failures)
		if !l.expired(f, now) {
			f.count++
			return
		}
		l.remove(e)
	}
	for e := l.order.Front(); e != nil && (l.order.Len() >= l.capacity || l.expired(e.Value.(*failures), now)); e = l.order.Front() {
		l.remove(e)
	}
	l.clients[key] = l.order.PushBack(&failures{client: key, start: now, count: 1})
}

func (l *limiter) expired(f *failures, now time.Time) bool {
	return now.Sub(f.start) >= l.window
}

func (l *limiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*failures).client)
	l.order.Remove(e)
}

// len returns the number of clients tracked.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
