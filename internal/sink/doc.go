// Package sink writes finished reports where they are wanted: JSON lines
// on standard output or in a file, one JSON file per mail in a dated
// directory tree, or an Elasticsearch/OpenSearch _bulk file.
//
// Data flows one way: the pipeline hands each report.Report to a Sink's
// Write, which encodes it at once and appends it whole (no report is
// split or interleaved with another, whatever the concurrency); Close
// syncs and releases. Open turns a destination string from the command
// line or configuration into a Sink; Multi fans one report out to
// several.
//
// For search engines the report is split as SpamScope split it, with its
// faults fixed: ElasticDocs makes one mail document and one document per
// attachment and archive member, with explicit ids and the mail's id in
// every attachment document; WriteBulk encodes them as a _bulk body.
// IndexTemplates returns the index templates that map every field of
// those documents, with the same names the documents carry (a test walks
// the documents of a complete report against the templates). Headers,
// custom headers and enrichments are lists of names and values, never
// objects keyed by header or enricher name, so the mapping does not grow
// with the mail; enrichment results are kept but not indexed.
//
// Network destinations have their own openers and sit behind a Queue,
// which batches, retries with back-off and applies back-pressure:
// OpenElastic indexes the documents of ElasticDocs over HTTP with _bulk
// and installs IndexTemplates; package redis writes to Redis. A service
// puts the file destinations behind a Queue too (OpenQueued).
//
// Left out: NATS, and compression of rotated files, which logrotate and
// the like do well.
package sink
