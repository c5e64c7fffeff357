// Package attach computes the facts about one mail attachment: its hashes
// (MD5, SHA-1, SHA-256, SHA-512 and, on request, the ssdeep and TLSH fuzzy
// hashes), the file type sniffed from its bytes, what its name says
// (extension, double extension, executable or script), the text of documents
// through a caller-supplied extractor, and the same facts for every member of
// the archives it contains, recursively.
//
// Data flows in one direction. Analyze takes the decoded bytes of one
// attachment, as the mail package hands them out, and returns a Facts tree.
// Each file is hashed in a single pass over its bytes, its type is sniffed by
// github.com/gabriel-vasile/mimetype, and when the sniffed type is an archive
// (zip, rar, 7z, tar, and gzip, bzip2 or xz streams) its members are
// decompressed one at a time into memory and analysed the same way. A member
// is held only while it is analysed, so the memory in use is about the input
// plus one member per nesting level, all bounded by Limits.
//
// Attachments are hostile input. Every decompressor is read through a
// limited reader; Limits bound the nesting depth, the number of members, the
// bytes of one member, the bytes expanded for the whole tree and the
// compression ratio of a member, and the memory that a decoder may reserve
// for its dictionary. Reaching a limit, a truncated or corrupt archive, an
// encrypted member that no password opens and even a panic inside a
// third-party reader are recorded as named Defects on the Facts where they
// happened; the walk then goes on with the next member or stops cleanly.
// Analyze never fails and never panics: whatever could be read is returned.
//
// Encrypted zip members are opened with github.com/yeka/zip (ZipCrypto and
// WinZip AES), rar archives with github.com/nwaples/rardecode/v2 and 7z
// archives with github.com/bodgit/sevenzip, trying Options.Passwords in turn.
// Archives whose key derivation would be costly (many salts, or more rounds
// than the usual tools use) are not tried.
//
// The 7z reader trusts its input more than the others, so a 7z archive is
// vetted first: its header is walked (and decoded, when it is packed) and
// any count of files, folders or streams beyond what the header could hold
// is refused, because sevenzip allocates by those counts up front and a
// failed allocation of that size is fatal, not a panic. Importing this
// package also replaces sevenzip's LZMA, LZMA2, PPMd and AES decoders with
// ones that refuse to reserve more than 64 MiB for a dictionary or model and
// that derive no key without a password (otherwise a 7z file of a hundred
// bytes could ask for gigabytes or seconds), and turns off its Zstandard,
// Brotli and LZ4 decoders, which only a fork of 7-Zip writes.
//
// Deliberately left out: writing files to disk, running external tools,
// antivirus or sandbox lookups, extracting text itself (the Options.Text hook
// does that, so heavy document libraries stay out of this package), the
// contents of Office documents (OOXML and ODF files are zips, but they are
// documents, not archives, and are not expanded), multi-volume archives
// beyond the one volume in hand, and the rarer containers (cab, iso, arj,
// lzh, zstd) that mail filters seldom meet.
package attach
