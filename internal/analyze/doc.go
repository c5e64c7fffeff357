// Package analyze turns one raw mail into one report.Report: the single
// entry point that the analyze command, the HTTP API, the milter and the
// queue workers all call.
//
// Data flows through one Engine.Analyze call in stages, each reading what
// the earlier ones left in the report:
//
//  1. An Outlook .msg input is converted to MIME (internal/outlook); the
//     report's id stays the SHA-256 of the bytes as given.
//  2. internal/mail splits the message tolerantly; its defects go into the
//     report. The header gives every field (decoded), the addresses, the
//     subject, the date and the Received chain with the sender IP, found
//     with the configured trust string.
//  3. The part tree is walked. Text and HTML parts without a file name
//     are bodies; every other leaf is an attachment analysed by
//     internal/attach (hashes, fuzzy hashes, sniffed type, archives within
//     limits, document text through internal/doctext). Embedded
//     message/rfc822 parts and Outlook messages inside attachments are
//     walked as mails of their own, their parts numbered below the
//     attachment's. Content hidden in a multipart's preamble or epilogue is
//     recovered: a MIME part or a base64 file as an attachment, other text
//     as a body.
//  4. The body text is hashed; a mail whose body was seen before is
//     marked filtered and its bodies, URLs, phishing and spam stages are
//     skipped. Attachments seen before (by SHA-256) and blacklisted types
//     are hashed and listed only.
//  5. URLs from the bodies (text, HTML links, forms, sources) and from the
//     attachments' text and document links are merged, each with every
//     place it was found, and checked against the domain whitelists.
//  6. internal/phish computes SpamScope's keyword bitmap and mailsift's
//     weighted heuristics; the spam classifier, when one is given, adds its
//     verdict; the enabled enrichers (ClamAV, VirusTotal) look at new
//     attachments and the sender IP, each failure recorded, never fatal.
//
// Nothing in a mail makes Analyze fail: broken structure is a defect, a
// panic in a stage is recovered into the report's error. Only the end of the
// context stops it early. The Engine holds no per-mail state, so one Engine
// serves every worker; Reload rereads the whitelist and keyword files.
//
// Deliberately left out: reading mailboxes and writing reports (the
// commands and internal/sink do that), and training the spam filter.
package analyze
