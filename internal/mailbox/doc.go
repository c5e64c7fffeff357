// Package mailbox reads mail collections and hands out the raw bytes of each
// message, one at a time and in a stable order, so that the rest of mailsift
// (training, testing, analysis) never has to care where a mail was stored.
//
// # What it reads
//
// A path given to [Open] may be a single message file (.eml or anything else
// whose first line does not start with "From "), an mbox file, a file of
// either kind compressed with gzip (recognised by its magic bytes, not its
// name), a Maildir (a directory holding cur/ and/or new/), an MH folder (a
// directory of files named by decimal numbers, or holding .mh_sequences), any
// other directory (walked recursively, in name order, with Maildir and MH
// sub-folders recognised as such), or "-" for standard input, which is read
// as one message. The format is always detected from content and layout.
//
// # How data flows
//
// [Reader.Next] works lazily: paths are taken in the order given; a directory
// is listed when it is reached and its entries queued in their reading order;
// a file is opened only when it is its turn and closed when its last message
// has been handed out, so at most one file is open at a time. An opened file
// is sniffed for the gzip magic (and then decompressed while streaming) and
// for a "From " first line. A single message is read whole; an mbox is split
// while streaming through a bufio.Reader, line by line, mboxrd style: a
// separator is a "From " line that starts the file or follows an empty line
// and looks like an envelope (at least one field after the sender and a digit
// in it); the empty line before a separator is dropped; one '>' is removed
// from every line matching ^>+From . Line endings are kept as in the file.
//
// Every message is capped by [Options].MaxMessageSize. A mail or file that
// cannot be read (missing, unreadable, corrupt gzip, too large) is reported as
// a [*MessageError] by Next, and the following call carries on with the next
// mail, so one bad file never ends a run.
//
// # What is left out
//
// Parsing the messages is the job of internal/mail. The package never writes:
// it does not move Maildir files from new/ to cur/, set flags, or lock mbox
// files (no dotlock, no fcntl), so reading a mailbox that is being delivered
// to may see a partial last message. mbox variants that rely on
// Content-Length headers (mboxcl, mboxcl2), MMDF and Babyl are not
// recognised; their messages are split by "From " lines like any mbox.
// Maildir++ folders (dot-directories inside a Maildir) and symbolic links to
// directories met during a walk are not followed (pass them as paths to read
// them). Compression other than gzip is not undone. Standard input is never
// split into several messages.
package mailbox
