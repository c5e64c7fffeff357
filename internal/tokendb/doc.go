// Package tokendb is mailsift's token store: for every word the number of
// times it occurred in trained ham and spam, the number of messages trained
// per class, and a ledger of the messages trained so far. It is what
// SpamOracle keeps in its database file, in one embedded bbolt file instead.
//
// # Data flow
//
// `train` tokenizes its messages in memory and hands them to [DB.Train] as
// [Doc] values (a message hash computed by the caller plus its words, with
// repeats). Train (or [DB.Apply] for ham and spam together) aggregates the
// per-word deltas of the whole call in a map and applies them in sorted key
// order in ONE bbolt write transaction, with the ledger and totals updates.
// `mark` reads through [DB.Lookup], which returns the counts and the totals
// of one transaction; runs over many messages (`test`, `stats`) take a
// [Snapshot] of the words that can be scored and release the file at once.
// `list`, `stats`, `backup` and `restore` use [DB.Walk], [DB.Stats],
// [DB.Backup] and [DB.Restore]; the backup text format is SpamOracle's
// (`SPAMORACLE/1 <good> <spam>` then `word good spam` lines), written here in
// byte order so that a dump is deterministic.
//
// # File layout (format version 1)
//
// Three top-level buckets:
//
//   - "meta": "magic" = "mailsift-tokendb"; "version" = uint32 big endian (1);
//     "id" = 16 random bytes chosen when the file is created; "totals" = the
//     good and the spam message counts, two uint32 big endian; "generation" =
//     uint64 big endian, 0 for a new file, incremented by every committed
//     write that changed something.
//   - "words": key = the word's bytes (1 to 32768 bytes, no space, no
//     newline, so that it fits a backup line); value = two uvarints, good
//     then spam occurrences (each at most 2³²-1). A word whose counts both
//     reach zero is deleted, so every key has a non-zero count.
//   - "ledger": key = the 32-byte message hash; value = one byte, the class
//     it was trained as (1 ham, 2 spam).
//
// Open checks the magic, the version, the presence of the three buckets, and
// that the file is not shorter than what its meta page claims (a truncated
// copy); a file failing any of these is [ErrCorrupt]. A read-write open
// checks an existing file read-only first: bbolt reads the freelist during a
// read-write open, and a panic there would leave the file mapped, and hence
// locked, for the life of the process. A damaged freelist within a file of
// the right length can still do that; it is reported as ErrCorrupt all the
// same.
//
// # Training semantics
//
// Training a message again as the same class is a no-op (Result.Skipped);
// training it as the other class moves it: its words are subtracted from the
// old class and added to the new one, and one message moves between the
// totals (Result.Moved). [DB.Untrain] subtracts a trained message and deletes
// its ledger entry; an unknown message is skipped. The words subtracted are
// the ones given in the Doc, so callers must tokenize the same way as when
// the message was trained; counts saturate at 0 and at 2³²-1 instead of
// wrapping. Within one call each class only gains or only loses, so
// aggregating the deltas before saturating gives the same result as applying
// the messages one by one (a batch that moves mail also only subtracts what
// the ledger says was added). A call that changes nothing (all skipped) does not
// commit and does not advance the generation.
//
// # Concurrency and crashes
//
// bbolt takes an exclusive flock for a read-write open and a shared one for a
// read-only open, held until Close. Writers (train, restore) therefore open,
// apply one transaction and close; readers hold the file only while they
// look up one message or take a snapshot. Open polls the lock every 5ms
// until Options.Timeout (10s by default) and then fails with [ErrLocked]. A
// [DB] is safe for concurrent use by several goroutines (bbolt serialises
// writers and lets readers run alongside).
//
// Every Train, Untrain and Restore call is one bbolt transaction, committed
// with fsync: after a kill -9 or a power loss the file holds the state from
// before or after the call, never a mix. Panics that bbolt raises on damaged
// files, and faults on a mapped file that was truncated underneath, are
// turned into [ErrCorrupt] errors instead of crashing the process.
//
// # Deliberately left out
//
// SpamOracle's split into a "high" and a "low" table (words with
// 2·good+spam < 5 are kept here and filtered by the scorer), its OCaml
// Marshal binary format and its gzip-compressed databases (use backup and
// restore to move data in and out), compaction of the bbolt file, and any
// sharing across hosts (a networked store would implement the same reads
// behind another type).
package tokendb
