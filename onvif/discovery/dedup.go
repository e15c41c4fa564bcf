package discovery

// seenCache remembers the last n message IDs, so that a Probe repeated
// with the same MessageID (clients send each Probe several times over UDP)
// is answered once. It is not safe for concurrent use.
type seenCache struct {
	ring []string
	next int
	set  map[string]struct{}
}

func newSeenCache(n int) *seenCache {
	return &seenCache{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// add records id and reports whether it is new. When the cache is full,
// the oldest ID is forgotten.
func (c *seenCache) add(id string) bool {
	if _, ok := c.set[id]; ok {
		return false
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.set, old)
	}
	c.ring[c.next] = id
	c.next = (c.next + 1) % len(c.ring)
	c.set[id] = struct{}{}
	return true
}
