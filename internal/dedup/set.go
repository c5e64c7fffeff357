package dedup

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// Policy chooses which key a full Set forgets to make room for a new one.
type Policy int

const (
	// FIFO forgets the key added longest ago, however often it was seen
	// since: every key is analysed again after Capacity newer keys.
	FIFO Policy = iota
	// LRU forgets the key seen longest ago: every hit refreshes the key,
	// so what keeps coming back stays filtered.
	LRU
)

// String returns "fifo" or "lru".
func (p Policy) String() string {
	switch p {
	case FIFO:
		return "fifo"
	case LRU:
		return "lru"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads "fifo" or "lru", in any case.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "fifo":
		return FIFO, nil
	case "lru":
		return LRU, nil
	}
	return 0, fmt.Errorf("dedup: unknown policy %q (want fifo or lru)", s)
}

// MaxCapacity is the largest capacity a Set takes; NewSet lowers larger
// ones to it.
const MaxCapacity = 1 << 30

// digest is what a Set stores of a key: the first 16 bytes of its SHA-256.
type digest [16]byte

func digestOf(key string) digest {
	// Hash from a stack buffer: converting a key longer than 32 bytes to
	// a slice would allocate.
	var buf [128]byte
	b := buf[:0]
	if len(key) <= len(buf) {
		b = append(b, key...)
	} else {
		b = []byte(key)
	}
	sum := sha256.Sum256(b)
	return digest(sum[:16])
}

// home is where a digest's search starts in the table: its bytes are
// uniform already.
func (d *digest) home() uint64 { return binary.LittleEndian.Uint64(d[:8]) }

// node is one key in the Set's eviction list: head is the next to go.
type node struct {
	key        digest
	prev, next int32
}

const none = -1

// Set is a bounded set of keys with constant-time lookups. The zero Set
// and a nil *Set hold nothing: SeenOrAdd always says "not seen". It is
// safe for concurrent use.
//
// The keys live in nodes, a doubly linked eviction list in one slice that
// never grows past the capacity (an evicted node is reused). The index is
// an open-addressing hash table of node numbers with linear probing, at
// most three quarters full: about 32 bytes a key in all, half of what a
// Go map from digest to node number would add to the nodes.
type Set struct {
	mu       sync.Mutex
	policy   Policy
	capacity int
	nodes    []node
	head     int32
	tail     int32
	// slots holds node number + 1, 0 for empty; len is a power of two.
	slots []uint32
	used  int
}

// NewSet returns an empty Set that holds at most capacity keys (at most
// MaxCapacity). A capacity below 1 gives a Set that remembers nothing.
func NewSet(capacity int, p Policy) *Set {
	capacity = min(max(capacity, 0), MaxCapacity)
	return &Set{policy: p, capacity: capacity, head: none, tail: none}
}

// SeenOrAdd reports whether key was in the set. A key that was there is
// refreshed under LRU; a key that was not is added, evicting one key when
// the set is full. The first caller with a key gets false and the later
// ones true, so exactly one copy is analysed in full.
func (s *Set) SeenOrAdd(key string) bool {
	if s == nil || s.capacity == 0 {
		return false
	}
	d := digestOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos, ok := s.lookup(&d); ok {
		if s.policy == LRU {
			i := int32(s.slots[pos] - 1)
			s.unlink(i)
			s.pushBack(i)
		}
		return true
	}
	s.add(d)
	return false
}

// Contains reports whether key is in the set, without adding or
// refreshing it.
func (s *Set) Contains(key string) bool {
	if s == nil || s.capacity == 0 {
		return false
	}
	d := digestOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.lookup(&d)
	return ok
}

// Len is the number of keys held; it never exceeds the capacity.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// Capacity is the most keys the set holds.
func (s *Set) Capacity() int {
	if s == nil {
		return 0
	}
	return s.capacity
}

// Policy is the set's eviction policy.
func (s *Set) Policy() Policy {
	if s == nil {
		return FIFO
	}
	return s.policy
}

// add inserts d at the back, taking the slot of the front key when full.
// The caller holds s.mu and has checked that d is absent.
func (s *Set) add(d digest) {
	var i int32
	if len(s.nodes) < s.capacity {
		if len(s.nodes) == cap(s.nodes) {
			// Grow by doubling, but never past the capacity.
			grown := make([]node, len(s.nodes), min(max(2*cap(s.nodes), 64), s.capacity))
			copy(grown, s.nodes)
			s.nodes = grown
		}
		i = int32(len(s.nodes))
		s.nodes = append(s.nodes, node{})
	} else {
		i = s.head
		s.unlink(i)
		pos, _ := s.lookup(&s.nodes[i].key)
		s.remove(pos)
	}
	s.nodes[i].key = d
	s.pushBack(i)
	s.insert(i)
}

func (s *Set) unlink(i int32) {
	n := &s.nodes[i]
	if n.prev == none {
		s.head = n.next
	} else {
		s.nodes[n.prev].next = n.next
	}
	if n.next == none {
		s.tail = n.prev
	} else {
		s.nodes[n.next].prev = n.prev
	}
	n.prev, n.next = none, none
}

func (s *Set) pushBack(i int32) {
	n := &s.nodes[i]
	n.prev, n.next = s.tail, none
	if s.tail == none {
		s.head = i
	} else {
		s.nodes[s.tail].next = i
	}
	s.tail = i
}

// ordered returns the digests from the next to be evicted to the newest.
// The caller holds s.mu.
func (s *Set) ordered() []digest {
	out := make([]digest, 0, s.used)
	for i := s.head; i != none; i = s.nodes[i].next {
		out = append(out, s.nodes[i].key)
	}
	return out
}

// replace sets the contents to keys, oldest first, keeping the newest
// capacity of them. A repeated key is an error and leaves s as it was.
func (s *Set) replace(keys []digest) error {
	if len(keys) > s.capacity {
		keys = keys[len(keys)-s.capacity:]
	}
	n := Set{policy: s.policy, capacity: s.capacity, nodes: make([]node, 0, len(keys)), head: none, tail: none}
	for _, d := range keys {
		if _, dup := n.lookup(&d); dup {
			return fmt.Errorf("%w: repeated key", ErrCorrupt)
		}
		n.add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes, s.head, s.tail, s.slots, s.used = n.nodes, n.head, n.tail, n.slots, n.used
	return nil
}

// lookup finds d in the table: its slot when present, else the empty
// slot where it would go.
func (s *Set) lookup(d *digest) (pos uint64, ok bool) {
	if len(s.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(s.slots) - 1)
	for pos = d.home() & mask; ; pos = (pos + 1) & mask {
		v := s.slots[pos]
		if v == 0 {
			return pos, false
		}
		if s.nodes[v-1].key == *d {
			return pos, true
		}
	}
}

// insert indexes node i, whose key is absent, growing the table first
// when it would pass three quarters full.
func (s *Set) insert(i int32) {
	if (s.used+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	pos, _ := s.lookup(&s.nodes[i].key)
	s.slots[pos] = uint32(i) + 1
	s.used++
}

func (s *Set) grow() {
	old := s.slots
	s.slots = make([]uint32, max(16, 2*len(old)))
	mask := uint64(len(s.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		pos := s.nodes[v-1].key.home() & mask
		for s.slots[pos] != 0 {
			pos = (pos + 1) & mask
		}
		s.slots[pos] = v
	}
}

// remove empties slot pos, moving back the entries after it that would
// otherwise be cut off from their home slot (backward-shift deletion).
func (s *Set) remove(pos uint64) {
	mask := uint64(len(s.slots) - 1)
	for next := (pos + 1) & mask; s.slots[next] != 0; next = (next + 1) & mask {
		home := s.nodes[s.slots[next]-1].key.home() & mask
		// The entry at next stays when its home lies cyclically in
		// (pos, next]: the empty slot at pos is not on its probe path.
		if (next-home)&mask < (next-pos)&mask {
			continue
		}
		s.slots[pos] = s.slots[next]
		pos = next
	}
	s.slots[pos] = 0
	s.used--
}
