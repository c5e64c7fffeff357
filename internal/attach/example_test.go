package attach_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"

	"github.com/mailsift/mailsift/internal/attach"
)

func ExampleAnalyze() {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("invoice.pdf.exe")
	_, _ = w.Write([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
	_ = zw.Close()

	f := attach.Analyze(context.Background(), "invoice.zip", "application/zip", buf.Bytes(), attach.Options{})
	fmt.Println(f.SniffedType, f.IsArchive, len(f.Members))
	f.Walk(func(m *attach.Facts) {
		if m.Path != "" {
			fmt.Println(m.Path, m.Extension, m.DoubleExtension, m.Executable, m.SniffedType, m.TypeMismatch)
		}
	})
	// Output:
	// application/zip true 1
	// invoice.zip/invoice.pdf.exe exe true true application/vnd.microsoft.portable-executable false
}

func ExampleRiskyName() {
	for _, name := range []string{"invoice.pdf.exe", "report.tar.gz", "scan.jpg     .js", "photo.jpg"} {
		ext, double, executable := attach.RiskyName(name)
		fmt.Printf("%q: %s double=%v executable=%v\n", name, ext, double, executable)
	}
	// Output:
	// "invoice.pdf.exe": exe double=true executable=true
	// "report.tar.gz": gz double=false executable=false
	// "scan.jpg     .js": js double=true executable=true
	// "photo.jpg": jpg double=false executable=false
}
