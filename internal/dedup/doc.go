// Package dedup remembers what the analysis has already seen: mails (by
// the hash of their body text), attachments (by their SHA-256) and sender
// IP addresses, so that the first copy is analysed in full and the later
// copies skip the costly stages (URL and phishing checks, extraction,
// lookups in outside services).
//
// Data flows through SeenOrAdd: a Set answers "seen before?" and records
// the key in the same step, in constant time. A Set is bounded: when full
// it forgets the key added longest ago (FIFO) or seen longest ago (LRU).
// Filters groups the three Sets as configured, loads them at Open and
// saves them at Close, each to its own file, written atomically in a
// small versioned binary format that keeps the eviction order. Store is
// the seam for a filter shared by several workers.
//
// A Set stores a key as the first 16 bytes of its SHA-256, not as the
// key itself: a hex SHA-256 takes 64 bytes as a string and an IPv6
// address up to 39, but every key takes 16 bytes here. Two different keys
// share a digest with probability about n²/2¹²⁹: 10⁻²⁷ for a million
// keys, and finding such a pair on purpose takes about 2⁶⁴ hashes. A
// digest cannot be turned back into its key, so the files cannot be
// listed; they are caches, not records.
//
// Left out: expiry by time (a key leaves only when pushed out), sharing
// between processes (a Store backed by Redis or NATS KV plugs in behind
// the same interface), and saving on a timer (the caller calls Save when
// it wants to, as well as Close).
package dedup
