// Package mail parses RFC 5322 / MIME messages tolerantly.
//
// Parse takes the raw bytes of one message and returns a Message: the
// header fields in their original order, a tree of Parts (multipart children
// and the messages embedded in message/rfc822 parts) and a list of Defects.
// Parsing never fails: a message that is broken in any way still yields every
// part that can be found, and what was wrong is recorded as a named Defect,
// because malformed mail is itself a signal for the filters downstream.
//
// Data flows in two steps. Parse only finds structure: it splits header
// blocks and multipart bodies on the in-memory message without copying, so
// it costs little even for mail with large attachments. Decoding is lazy and
// per part: Part.Decoded undoes the transfer encoding (leniently, for base64
// with garbage or quoted-printable with bad escapes) and Part.Text also
// converts the charset to UTF-8. Consumers that only read text parts, such
// as the tokenizer, never pay for decoding attachments.
//
// The structure is split here rather than with a streaming multipart reader
// because tolerance needs the whole picture: a part whose header is broken,
// a missing closing boundary, or text hidden in a preamble or epilogue must
// not end the walk. Everything inside a header or a part is left to the
// well-kept libraries: RFC 2047 words and charsets through
// github.com/emersion/go-message/charset (golang.org/x/text underneath),
// media types and RFC 2231 parameters through the standard mime package.
//
// Deliberately left out: writing or re-encoding mail (mark inserts header
// lines into the original bytes instead), and semantic checks of addresses,
// dates or Received chains, which belong to the analysis stages.
package mail
