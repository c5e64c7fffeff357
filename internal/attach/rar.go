package attach

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/nwaples/rardecode/v2"
)

// rar lists a rar archive (versions 1.5 to 7) held in memory. Only the one
// volume in hand is read: a multi-volume archive lists the members that
// start in it and records DefectCorrupt.
func (w *walker) rar(f *Facts, data []byte, depth int) {
	dict := min(max(w.lim.MaxMemberBytes, 1<<20), maxDecoderMemory)
	w.unlock(f, func(password *string) bool {
		opts := []rardecode.Option{rardecode.MaxDictionarySize(dict)}
		if password != nil {
			opts = append(opts, rardecode.Password(*password))
		}
		r, err := rardecode.NewReader(bytes.NewReader(data), opts...)
		if err != nil {
			if rarLocked(err) {
				return true
			}
			f.addDefect(DefectCorrupt, err.Error())
			return false
		}
		locked := false
		var skipped Defect // why a member of a solid block was not read
		for {
			h, err := r.Next()
			if err == io.EOF {
				return locked
			}
			if err != nil {
				switch {
				case rarLocked(err):
					locked = true
				case errors.Is(err, rardecode.ErrDictionaryTooLarge):
					f.addDefect(DefectSizeLimit, err.Error())
				default:
					f.addDefect(DefectCorrupt, err.Error())
				}
				return locked
			}
			if h.IsDir {
				continue
			}
			e := entry{name: h.Name, size: h.UnPackedSize, packed: h.PackedSize, encrypted: h.Encrypted,
				open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}
			if h.UnKnownSize {
				e.size = -1
			}
			if h.Solid && skipped.Name != "" {
				// Its data depends on the member that was not read.
				e.blocked = Defect{skipped.Name, "follows an unread member in a solid archive"}
			}
			switch w.member(f, depth, e) {
			case statusStop:
				return locked
			case statusLocked:
				locked = true
				skipped = Defect{DefectEncrypted, ""}
			case statusUnread:
				if n := len(f.Members); n > 0 && len(f.Members[n-1].Defects) > 0 {
					skipped = f.Members[n-1].Defects[0]
				}
			}
		}
	}, func() string { return rarKeyCost(f, data) })
}

// Bounds on the key derivations a password may cost in a rar archive.
// RAR 5 derives a key with 2^kdf rounds of PBKDF2-HMAC-SHA256 (WinRAR uses
// kdf 15; 24, the format's maximum, takes seconds) for each distinct salt,
// and rardecode caches four keys. RAR 3 derives a key per salt with 2^18
// SHA-1 rounds.
const (
	maxRarKDF        = 16
	maxRarSalts      = 4
	maxRar3Encrypted = 16
)

// rarKeyCost tells why trying passwords on a rar archive would cost too
// much, or "" if it would not. f holds the listing made without a password.
func rarKeyCost(f *Facts, data []byte) string {
	if bytes.HasPrefix(data, []byte(rar5Signature)) {
		kdf, salts := rar5Keys(data)
		if kdf > maxRarKDF || salts > maxRarSalts {
			return fmt.Sprintf("not tried: %d salts, up to 2^%d key rounds", salts, kdf)
		}
		return ""
	}
	encrypted := 0
	for _, m := range f.Members {
		if m.Encrypted {
			encrypted++
		}
	}
	if encrypted > maxRar3Encrypted {
		return fmt.Sprintf("not tried: %d encrypted members", encrypted)
	}
	return ""
}

const rar5Signature = "Rar!\x1a\x07\x01\x00"

// rar5Keys scans the plain block headers of a RAR 5 archive for encryption
// records and returns the largest key-derivation exponent and the number
// of distinct (exponent, salt) pairs, which is the number of keys to
// derive. Headers after an archive encryption header are encrypted and
// not seen.
func rar5Keys(b []byte) (maxKDF, salts int) {
	seen := map[string]bool{}
	record := func(r []byte) { // version, flags, kdf exponent, 16-byte salt
		p := 0
		_, ok1 := uvarint(r, &p)
		_, ok2 := uvarint(r, &p)
		if !ok1 || !ok2 || len(r) < p+17 {
			return
		}
		maxKDF = max(maxKDF, int(r[p]))
		seen[string(r[p:p+17])] = true
	}
	pos := len(rar5Signature)
	for pos+7 <= len(b) {
		pos += 4 // header CRC
		size, ok := uvarint(b, &pos)
		if !ok || size > uint64(len(b)-pos) {
			break
		}
		h := b[pos : pos+int(size)]
		pos += int(size)
		p := 0
		typ, _ := uvarint(h, &p)
		flags, _ := uvarint(h, &p)
		var extra, data uint64
		if flags&1 != 0 {
			extra, _ = uvarint(h, &p)
		}
		if flags&2 != 0 {
			data, _ = uvarint(h, &p)
		}
		switch typ {
		case 4: // archive encryption: the rest is hidden
			record(h[min(p, len(h)):])
			return maxKDF, len(seen)
		case 5: // end of archive
			return maxKDF, len(seen)
		case 2, 3: // file and service headers
			if extra <= uint64(len(h)) {
				for ex, q := h[len(h)-int(extra):], 0; q < len(ex); {
					n, ok := uvarint(ex, &q)
					if !ok || n > uint64(len(ex)-q) {
						break
					}
					rec := ex[q : q+int(n)]
					q += int(n)
					r := 0
					if t, ok := uvarint(rec, &r); ok && t == 1 {
						record(rec[r:])
					}
				}
			}
		}
		if data > uint64(len(b)-pos) {
			break
		}
		pos += int(data)
	}
	return maxKDF, len(seen)
}

// rarLocked reports errors that mean a password is missing or wrong.
func rarLocked(err error) bool {
	return errors.Is(err, rardecode.ErrArchiveEncrypted) ||
		errors.Is(err, rardecode.ErrArchivedFileEncrypted) ||
		errors.Is(err, rardecode.ErrBadPassword)
}
