package attach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// walker holds the state of one Analyze: the options and what has been
// spent of the limits so far.
type walker struct {
	ctx     context.Context
	lim     Limits
	opt     Options
	members int   // members listed in the tree
	bytes   int64 // bytes expanded for the tree
}

// opener lists the members of an archive of one format into f.
type opener func(w *walker, f *Facts, data []byte, depth int)

// file fills in the facts that come from the content of f, which is at the
// given depth, and opens it if it is an archive.
func (w *walker) file(f *Facts, data []byte, depth int) {
	f.Size = int64(len(data))
	w.hash(f, data)
	f.SniffedType = sniff(data)
	f.TypeMismatch = typeMismatch(f.Extension, f.SniffedType)
	if w.opt.Stop != nil && w.opt.Stop(f, depth) {
		return
	}
	if w.opt.Text != nil && IsDocument(f.SniffedType) {
		w.text(f, data)
	}
	open := archiveOpener(f.SniffedType)
	if open == nil {
		return
	}
	f.IsArchive = true
	if depth >= w.lim.MaxDepth {
		f.addDefect(DefectDepthLimit, fmt.Sprintf("not opened at depth %d", depth))
		return
	}
	w.expand(f, data, depth, open)
}

// expand runs open, turning a panic in a third-party reader into a defect.
// The members listed before the panic stay in f.
func (w *walker) expand(f *Facts, data []byte, depth int, open opener) {
	defer func() {
		if r := recover(); r != nil {
			f.addDefect(DefectCorrupt, fmt.Sprintf("panic: %v", r))
		}
	}()
	open(w, f, data, depth)
}

// sniff returns the media type of data without parameters.
func sniff(data []byte) string {
	t := mimetype.Detect(data).String()
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}

// archiveOpener returns the opener for a sniffed type, or nil if the type
// is not an archive this package opens.
func archiveOpener(mime string) opener {
	switch mime {
	case "application/zip":
		return (*walker).zip
	case "application/vnd.rar":
		return (*walker).rar
	case "application/x-7z-compressed":
		return (*walker).sevenZip
	case "application/x-tar":
		return (*walker).tar
	case "application/gzip":
		return (*walker).gzip
	case "application/x-bzip2":
		return (*walker).bzip2
	case "application/x-xz":
		return (*walker).xz
	}
	return nil
}

// entry describes an archive member before it is read.
type entry struct {
	name      string
	size      int64  // size the archive declares; -1 if unknown
	packed    int64  // compressed bytes behind the member; -1 if unknown
	encrypted bool   // the archive marks the member encrypted
	blocked   Defect // when set, the member is listed with it and not read
	// open returns the member's content. The reader is closed after use.
	open func() (io.ReadCloser, error)
}

// status is the outcome of listing one member.
type status int

const (
	statusStop   status = iota // the listing must stop: a limit or the context
	statusRead                 // the content was read and analysed
	statusUnread               // listed without content: a limit or an error
	statusLocked               // listed without content: encrypted
)

// member lists e in parent, an archive at the given depth, reading and
// analysing its content within the limits.
func (w *walker) member(parent *Facts, depth int, e entry) status {
	if err := w.ctx.Err(); err != nil {
		parent.addDefect(DefectCanceled, err.Error())
		return statusStop
	}
	if w.members >= w.lim.MaxMembers {
		parent.addDefect(DefectMemberLimit, fmt.Sprintf("more than %d members", w.lim.MaxMembers))
		return statusStop
	}
	w.members++
	path := strings.TrimLeft(strings.ToValidUTF8(e.name, "\uFFFD"), `/\`)
	if prefix := cmp.Or(parent.Path, parent.Filename); prefix != "" {
		path = prefix + "/" + path
	}
	m := named(path, e.name)
	if e.size > 0 {
		m.Size = e.size
	}
	m.Encrypted = e.encrypted
	st := w.content(&m, depth, e)
	parent.Members = append(parent.Members, m)
	return st
}

// content reads the member e into m and analyses it.
func (w *walker) content(m *Facts, depth int, e entry) status {
	if e.blocked.Name != "" {
		m.addDefect(e.blocked.Name, e.blocked.Detail)
		return statusUnread
	}
	if d := w.precheck(e); d.Name != "" {
		m.addDefect(d.Name, d.Detail)
		return statusUnread
	}
	rc, err := e.open()
	if err != nil {
		return w.failed(m, e, err)
	}
	data, err := w.read(rc, e)
	if cerr := rc.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return w.failed(m, e, err)
	}
	w.file(m, data, depth+1)
	return statusRead
}

// precheck judges a member by the sizes its archive declares.
func (w *walker) precheck(e entry) Defect {
	switch {
	case e.size > w.lim.MaxMemberBytes:
		return Defect{DefectSizeLimit, fmt.Sprintf("member of %d bytes, limit %d", e.size, w.lim.MaxMemberBytes)}
	case w.bytes >= w.lim.MaxTotalBytes || e.size > w.lim.MaxTotalBytes-w.bytes:
		return Defect{DefectSizeLimit, fmt.Sprintf("more than %d bytes expanded", w.lim.MaxTotalBytes)}
	case e.packed >= 0 && e.size > ratioFloor && float64(e.size) > w.lim.MaxRatio*float64(e.packed):
		return Defect{DefectRatioLimit, fmt.Sprintf("%d bytes from %d", e.size, e.packed)}
	}
	return Defect{}
}

// limitError is a read stopped by a limit; it becomes the named defect.
type limitError struct{ defect, detail string }

func (e *limitError) Error() string { return e.defect + ": " + e.detail }

// read returns the content of r, charging the bytes to the tree and
// stopping at the member, total and ratio limits.
func (w *walker) read(r io.Reader, e entry) ([]byte, error) {
	limit, over := w.lim.MaxMemberBytes, &limitError{DefectSizeLimit, fmt.Sprintf("member larger than %d bytes", w.lim.MaxMemberBytes)}
	if rest := w.lim.MaxTotalBytes - w.bytes; rest < limit {
		limit, over = rest, &limitError{DefectSizeLimit, fmt.Sprintf("more than %d bytes expanded", w.lim.MaxTotalBytes)}
	}
	ratioCap := int64(math.MaxInt64)
	if e.packed >= 0 {
		if c := w.lim.MaxRatio * float64(e.packed); c < math.MaxInt64/2 {
			ratioCap = max(ratioFloor, int64(c))
		}
	}
	// A declared size is trusted for the first allocation: precheck has
	// bounded it by the member limit and the ratio to the packed size.
	size := int64(64 << 10)
	if e.size >= 0 {
		size = e.size
	}
	buf := make([]byte, 0, min(size, limit)+1)
	lr := io.LimitReader(r, limit+1)
	sinceCheck := 0
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), 4<<20))
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		w.bytes += int64(n)
		if int64(len(buf)) > limit {
			return nil, over
		}
		if int64(len(buf)) > ratioCap {
			return nil, &limitError{DefectRatioLimit, fmt.Sprintf("more than %d bytes from %d", ratioCap, e.packed)}
		}
		if sinceCheck += n; sinceCheck >= 1<<20 {
			sinceCheck = 0
			if cerr := w.ctx.Err(); cerr != nil {
				return nil, cerr
			}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// failed records why a member could not be read.
func (w *walker) failed(m *Facts, e entry, err error) status {
	var le *limitError
	switch {
	case errors.As(err, &le):
		m.addDefect(le.defect, le.detail)
		return statusUnread
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		m.addDefect(DefectCanceled, err.Error())
		return statusUnread
	case e.encrypted || errors.Is(err, errEncrypted):
		m.Encrypted = true
		m.addDefect(DefectEncrypted, err.Error())
		return statusLocked
	}
	m.addDefect(DefectCorrupt, err.Error())
	return statusUnread
}

// errEncrypted marks content that cannot be read without a password.
var errEncrypted = errors.New("encrypted")

// unlock runs walk without a password and, if that leaves encrypted content
// unread, once more for each of Options.Passwords until one opens
// everything. The listing kept is the first that is complete, else the one
// without a password. Each run is bounded by the limits on its own. costly,
// when set, is asked after the first run whether trying passwords would
// cost too much (key derivations an archive can make arbitrarily slow); a
// non-empty answer is recorded as the reason the content stays locked.
func (w *walker) unlock(f *Facts, walk func(password *string) (locked bool), costly func() string) {
	defects, members, bytes := slices.Clone(f.Defects), w.members, w.bytes
	if !walk(nil) {
		return
	}
	f.Encrypted = true
	reason := "no password given"
	if len(w.opt.Passwords) > 0 {
		reason = fmt.Sprintf("none of %d passwords opened it", len(w.opt.Passwords))
		if costly != nil {
			if r := costly(); r != "" {
				f.addDefect(DefectEncrypted, r)
				return
			}
		}
	}
	first, firstMembers, firstBytes := *f, w.members, w.bytes
	for _, pw := range w.opt.Passwords {
		if w.ctx.Err() != nil {
			break
		}
		f.Members, f.Defects = nil, slices.Clone(defects)
		w.members, w.bytes = members, bytes
		if !walk(&pw) {
			f.Password = pw
			return
		}
	}
	*f = first
	w.members, w.bytes = firstMembers, firstBytes
	f.addDefect(DefectEncrypted, reason)
}

// text runs the Options.Text hook on a document and stores its result.
func (w *walker) text(f *Facts, data []byte) {
	defer func() {
		if r := recover(); r != nil {
			f.addDefect(DefectTextError, fmt.Sprintf("panic: %v", r))
		}
	}()
	s, err := w.opt.Text(w.ctx, f.SniffedType, data)
	if err != nil {
		f.addDefect(DefectTextError, err.Error())
	}
	if len(s) > w.opt.TextBytes {
		s = clip(s, w.opt.TextBytes)
		f.TextTruncated = true
	}
	f.Text = clip(strings.ToValidUTF8(s, "\uFFFD"), w.opt.TextBytes)
}

// IsDocument reports whether a sniffed media type is one that Options.Text
// is called for: text, PDF, RTF, the Office, OpenDocument and EPUB
// formats, and Outlook messages (which often sniff as a plain OLE
// compound file).
func IsDocument(mime string) bool {
	switch {
	case strings.HasPrefix(mime, "text/"),
		strings.HasPrefix(mime, "application/vnd.openxmlformats-officedocument."),
		strings.HasPrefix(mime, "application/vnd.oasis.opendocument."),
		strings.HasPrefix(mime, "application/vnd.ms-excel"),
		strings.HasPrefix(mime, "application/vnd.ms-powerpoint"):
		return true
	}
	switch mime {
	case "application/pdf", "application/msword", "application/rtf",
		"application/epub+zip", "application/vnd.ms-outlook", "application/x-ole-storage":
		return true
	}
	return false
}
