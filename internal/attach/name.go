package attach

import (
	"strings"
)

// executableExt lists extensions that run code when opened on a common
// desktop: programs, scripts, shortcuts, installers, disk images that mount
// on a double click, and Office formats that carry macros.
var executableExt = set(
	// Windows programs and libraries
	"exe", "scr", "com", "pif", "cpl", "dll", "ocx", "sys", "drv", "efi",
	// scripts and script hosts
	"bat", "cmd", "js", "jse", "vbs", "vbe", "vb", "wsf", "wsh", "wsc", "ws",
	"hta", "sct", "ps1", "ps1xml", "ps2", "psc1", "psm1", "psd1", "msh",
	"reg", "inf", "scf", "url", "website", "settingcontent-ms",
	// shortcuts, installers, packages, help, OneNote
	"lnk", "msi", "msp", "mst", "msc", "appx", "appxbundle", "msix",
	"msixbundle", "appref-ms", "application", "gadget", "chm", "hlp", "one",
	"xll", "jar", "jnlp", "apk", "app", "dmg", "pkg", "sh", "command",
	// disk images mounted by the shell
	"iso", "img", "vhd", "vhdx",
	// Office with macros
	"docm", "dotm", "xlsm", "xltm", "xlam", "xla", "pptm", "potm", "ppam",
	"ppsm", "sldm",
)

// decoyExt lists extensions that a double extension puts in front of the
// real one to look harmless: documents, images, media and archives.
var decoyExt = set(
	"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "csv",
	"odt", "ods", "odp", "htm", "html", "xml", "jpg", "jpeg", "png", "gif",
	"bmp", "tif", "tiff", "svg", "mp3", "mp4", "wav", "avi", "mov", "mpg",
	"zip", "rar", "7z", "eml", "msg", "ics", "vcf",
)

// compressorExt lists extensions that legitimately follow another one
// ("report.tar.gz", "data.csv.xz").
var compressorExt = set("gz", "bz2", "xz", "z", "lz", "lzma", "zst", "br", "tgz")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// RiskyName judges a file name the way a user's desktop would show and run
// it. ext is the last extension, lower-case and without the dot, after the
// trailing dots and spaces that Windows ignores. double reports a decoy
// extension in front of a different real one ("invoice.pdf.exe",
// "scan.jpg   .js", but not "logs.tar.gz"), or a bidirectional control
// character that makes the shown extension differ from the real one.
// executable reports that ext runs code: a program, script, shortcut,
// installer, disk image or macro-enabled Office file.
func RiskyName(name string) (ext string, double, executable bool) {
	name = baseName(name)
	name = strings.TrimRight(name, ". \t")
	stem, ext, ok := cutExt(name)
	if !ok {
		return "", hasBidiControl(name), false
	}
	executable = executableExt[ext]
	if hasBidiControl(name) {
		return ext, true, executable
	}
	_, inner, ok := cutExt(strings.TrimRight(stem, " \t"))
	double = ok && decoyExt[inner] && inner != ext && !compressorExt[ext]
	return ext, double, executable
}

// cutExt splits "a.b.c" into "a.b" and "c", lower-casing the extension. A
// leading dot (".profile") is not an extension.
func cutExt(name string) (stem, ext string, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, "", false
	}
	ext = strings.ToLower(strings.TrimSpace(name[i+1:]))
	if ext == "" || strings.ContainsAny(ext, " \t") {
		return name, "", false
	}
	return name[:i], ext, true
}

// hasBidiControl reports the characters used to reverse how a name reads
// ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf").
func hasBidiControl(s string) bool {
	return strings.ContainsAny(s, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
}

// Sniffed types that run code whatever the name says.
var programTypes = set(
	"application/vnd.microsoft.portable-executable",
	"application/x-elf", "application/x-executable", "application/x-sharedlib",
	"application/x-mach-binary", "application/x-msdownload", "application/x-dosexec",
)

// programExt are the extensions under which a program is expected.
var programExt = set("exe", "dll", "scr", "com", "cpl", "ocx", "sys", "drv", "efi", "so", "mui", "pyd", "node")

// expectedTypes maps an extension to the sniffed types it normally has.
// Types ending in "/" match as prefixes.
var expectedTypes = map[string][]string{
	"pdf":  {"application/pdf"},
	"doc":  {"application/msword", "application/x-ole-storage"},
	"dot":  {"application/msword", "application/x-ole-storage"},
	"xls":  {"application/vnd.ms-excel", "application/x-ole-storage"},
	"ppt":  {"application/vnd.ms-powerpoint", "application/x-ole-storage"},
	"docx": {"application/vnd.openxmlformats-officedocument.", "application/zip"},
	"xlsx": {"application/vnd.openxmlformats-officedocument.", "application/zip"},
	"pptx": {"application/vnd.openxmlformats-officedocument.", "application/zip"},
	"odt":  {"application/vnd.oasis.opendocument.", "application/zip"},
	"ods":  {"application/vnd.oasis.opendocument.", "application/zip"},
	"odp":  {"application/vnd.oasis.opendocument.", "application/zip"},
	"rtf":  {"text/rtf", "application/rtf"},
	"txt":  {"text/"},
	"csv":  {"text/"},
	"jpg":  {"image/jpeg"},
	"jpeg": {"image/jpeg"},
	"png":  {"image/png"},
	"gif":  {"image/gif"},
	"bmp":  {"image/bmp"},
	"tif":  {"image/tiff"},
	"tiff": {"image/tiff"},
	"zip":  {"application/zip"},
	"rar":  {"application/vnd.rar"},
	"7z":   {"application/x-7z-compressed"},
	"gz":   {"application/gzip"},
	"mp3":  {"audio/"},
	"wav":  {"audio/"},
	"mp4":  {"video/", "audio/"},
}

// typeMismatch reports a sniffed type that contradicts the extension in a
// way that matters: a program or shortcut under any other extension, or,
// for the extensions in expectedTypes, any type that is not inert (plain
// text, unknown binary, a raster image, audio or video).
func typeMismatch(ext, sniffed string) bool {
	if programTypes[sniffed] {
		return !programExt[ext]
	}
	if sniffed == "application/x-ms-shortcut" {
		return ext != "lnk"
	}
	want, ok := expectedTypes[ext]
	if !ok {
		return false
	}
	for _, t := range want {
		if sniffed == t || strings.HasSuffix(t, "/") && strings.HasPrefix(sniffed, t) ||
			strings.HasSuffix(t, ".") && strings.HasPrefix(sniffed, t) {
			return false
		}
	}
	return !inert(sniffed)
}

// inert reports sniffed types that do nothing when opened by mistake.
func inert(t string) bool {
	switch {
	case t == "text/plain", t == "application/octet-stream":
		return true
	case t == "image/svg+xml":
		return false
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "audio/"),
		strings.HasPrefix(t, "video/"), strings.HasPrefix(t, "font/"):
		return true
	}
	return false
}
