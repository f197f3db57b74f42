package auth

import (
	"sync"
	"time"
)

// tokenCache remembers tokens whose signature and claims verified, keyed by
// the SHA-256 of the token (the token itself is never kept), until they
// expire. It holds at most max entries.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]verifiedToken
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[32]byte]verifiedToken)}
}

// get returns the entry for sum if it has not expired at now.
func (c *tokenCache) get(sum [32]byte, now time.Time) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[sum]
	if !ok {
		return verifiedToken{}, false
	}
	if !now.Before(v.expiresAt) {
		delete(c.entries, sum)
		return verifiedToken{}, false
	}
	return v, true
}

// put adds an entry. When the cache is full it first drops the entries
// expired at now, then, if still full, arbitrary ones: a dropped entry only
// costs one more signature check.
func (c *tokenCache) put(sum [32]byte, v verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expiresAt) {
				delete(c.entries, k)
			}
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		delete(c.entries, k)
	}
	c.entries[sum] = v
}

// len reports the number of entries (for tests).
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
