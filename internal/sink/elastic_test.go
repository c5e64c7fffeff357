package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestEsbulkGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulk.ndjson")
	s, err := Open("esbulk:"+path+"?prefix=mailsift", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, richReport()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, plainReport()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkBulk(t, got)
	golden := filepath.Join("testdata", "golden", "esbulk.ndjson")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("esbulk output differs from %s; run go test -update and review the diff", golden)
	}
}

// checkBulk checks data is a valid _bulk body: NDJSON ending in a
// newline, each "index" action followed by one document.
func checkBulk(t *testing.T, data []byte) {
	t.Helper()
	lines := jsonLines(t, data)
	if len(lines)%2 != 0 {
		t.Fatalf("%d lines: actions and documents do not pair up", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		action, ok := lines[i]["index"].(map[string]any)
		if !ok || len(lines[i]) != 1 {
			t.Fatalf("line %d is not an index action: %v", i+1, lines[i])
		}
		if idx, _ := action["_index"].(string); idx == "" || CheckIndexPrefix(idx) != nil {
			t.Errorf("line %d: bad index %v", i+1, action["_index"])
		}
		if _, ok := lines[i+1]["index"]; ok {
			t.Errorf("line %d: action where a document belongs", i+2)
		}
	}
}

func TestElasticDocs(t *testing.T) {
	docs := ElasticDocs(richReport(), "ms")
	var ids, indices []string
	for _, d := range docs {
		ids = append(ids, d.ID)
		indices = append(indices, d.Index)
	}
	wantIDs := []string{
		richID,
		richID + "-sha256-zip",
		richID + "-sha256-exe",
		richID + "-sha256-7z",
		richID + "-sha256-txt",
		richID + "-sha256-png",
		richID + "-sha256-png-2",
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("ids\n%q\nwant\n%q", ids, wantIDs)
	}
	if indices[0] != "ms-mails-2026.03.04" || indices[1] != "ms-attachments-2026.03.04" {
		t.Errorf("indices %v", indices)
	}
	if d := ElasticDocs(plainReport(), "ms"); len(d) != 1 || d[0].Index != "ms-mails-2026.03.05" {
		t.Errorf("the day is not AnalysedAt's in UTC: %v", d[0].Index)
	}

	mail := docs[0].Body.(mailDoc)
	var paths []string
	for _, a := range mail.Attachments {
		paths = append(paths, a.Path)
	}
	wantPaths := []string{"invoice.zip", "invoice.zip/docs/invoice.pdf.exe", "invoice.zip/inner.7z",
		"invoice.zip/inner.7z/notes.txt", "logo.png", "logo-copy.png"}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("summary paths %q, want %q", paths, wantPaths)
	}
	if !mail.WithAttachments || !mail.Attachments[1].Archived || mail.Attachments[1].ParentSHA256 != "sha256-zip" ||
		mail.Attachments[3].ParentSHA256 != "sha256-7z" || mail.Attachments[0].Archived {
		t.Error("archive membership wrong in the summaries")
	}
	if mail.Mail.From[0].Domain != "example.com" || mail.Mail.Custom[0].Name != "user-agent" || len(mail.Mail.Custom) != 3 {
		t.Errorf("from %v, custom %v", mail.Mail.From, mail.Mail.Custom)
	}
	if mail.Enrichment[0].Name != "rbl" || mail.Enrichment[1].Name != "shodan" {
		t.Errorf("enrichment not sorted by name: %v", mail.Enrichment)
	}

	body, err := json.Marshal(mail)
	if err != nil {
		t.Fatal(err)
	}
	for _, heavy := range []string{"payload", "encrypted member text", "Win.Trojan"} {
		if bytes.Contains(body, []byte(heavy)) {
			t.Errorf("mail document carries %q", heavy)
		}
	}

	exe := docs[2].Body.(attachmentDoc)
	if exe.Payload == "" || exe.Mail.ID != richID || exe.Mail.Subject == "" || exe.Mail.Date == nil ||
		exe.Mail.MessageID == "" || exe.Mail.From[0].Address != "billing@Example.COM" || !exe.Archived ||
		exe.Enrichment[0].Name != "clamav" {
		t.Errorf("member document: %+v", exe)
	}
	zip := docs[1].Body.(attachmentDoc)
	if len(zip.Members) != 2 || zip.Members[1].Path != "invoice.zip/inner.7z" || zip.Members[0].SHA256 != "sha256-exe" {
		t.Errorf("archive members %+v", zip.Members)
	}
	if txt := docs[4].Body.(attachmentDoc); txt.Text != "encrypted member text" || !txt.TextTruncated {
		t.Errorf("member text %+v", txt)
	}

	noID := richReport()
	noID.ID = ""
	for _, d := range ElasticDocs(noID, "ms") {
		if d.ID != "" {
			t.Errorf("without a mail id, %s got id %q", d.Index, d.ID)
		}
	}
	noHash := richReport()
	noHash.Attachments[1].Hashes.SHA256 = ""
	if d := ElasticDocs(noHash, "ms"); d[5].ID != richID+"-n5" {
		t.Errorf("attachment without a hash: id %q", d[5].ID)
	}
}

func TestWriteBulk(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBulk(&buf, []ElasticDoc{{Index: "a", Body: map[string]string{"x": "<&>"}}, {Index: "b", ID: "1", Body: 2}}); err != nil {
		t.Fatal(err)
	}
	want := `{"index":{"_index":"a"}}` + "\n" + `{"x":"<&>"}` + "\n" + `{"index":{"_index":"b","_id":"1"}}` + "\n2\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := WriteBulk(&buf, []ElasticDoc{{Index: "a", Body: 1}, {Body: 1}}); err == nil || buf.Len() != 0 {
		t.Errorf("no index: err %v, wrote %q", err, buf.String())
	}
	if err := WriteBulk(&buf, []ElasticDoc{{Index: "a", Body: 1}, {Index: "a", Body: func() {}}}); err == nil || buf.Len() != 0 {
		t.Errorf("unencodable body: err %v, wrote %q", err, buf.String())
	}
	if err := WriteBulk(failWriter{}, []ElasticDoc{{Index: "a", Body: 1}}); err == nil || !strings.HasPrefix(err.Error(), "sink: bulk: ") {
		t.Errorf("write error: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCheckIndexPrefix(t *testing.T) {
	for _, ok := range []string{"mailsift", "a", "mail.sift-2", "x_y"} {
		if err := CheckIndexPrefix(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "-a", "_a", "+a", "Mail", "a b", "a/b", "a*", "a,b", "a#", "a:b", "a|b", strings.Repeat("a", 201)} {
		if err := CheckIndexPrefix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTemplatesDeployed(t *testing.T) {
	tpls := IndexTemplates()
	var names []string
	for name := range tpls {
		names = append(names, name)
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"mailsift-attachments", "mailsift-mails"}) {
		t.Fatalf("templates %v", names)
	}
	deployed, err := filepath.Glob(filepath.Join("..", "..", "deploy", "elasticsearch", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(deployed) != len(tpls) {
		t.Errorf("deploy/elasticsearch has %v, want the %d embedded templates", deployed, len(tpls))
	}
	for name, data := range tpls {
		got, err := os.ReadFile(filepath.Join("..", "..", "deploy", "elasticsearch", name+".json"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("deploy/elasticsearch/%s.json differs from internal/sink/templates/%s.json: copy it over", name, name)
		}
	}
	tpls["mailsift-mails"][0] = 'X'
	if IndexTemplates()["mailsift-mails"][0] != '{' {
		t.Error("IndexTemplates returned shared bytes")
	}
}

type indexTemplate struct {
	IndexPatterns []string `json:"index_patterns"`
	Template      struct {
		Mappings map[string]any `json:"mappings"`
	} `json:"template"`
}

// TestTemplatesMapEveryField walks the documents of a complete report
// against the templates: every field a document carries must be mapped
// with a type that takes its values, and every mapped field must occur,
// so that a name mismatch either way (SpamScope's message-id against
// message_id) fails here.
func TestTemplatesMapEveryField(t *testing.T) {
	tpls := map[string]indexTemplate{}
	for name, data := range IndexTemplates() {
		var tpl indexTemplate
		if err := json.Unmarshal(data, &tpl); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(tpl.IndexPatterns) != 1 || tpl.IndexPatterns[0] != name+"-*" {
			t.Errorf("%s: index_patterns %v", name, tpl.IndexPatterns)
		}
		if d := tpl.Template.Mappings["dynamic"]; d != false {
			t.Errorf("%s: dynamic %v, want false", name, d)
		}
		tpls[name] = tpl
	}
	covered := map[string]map[string]bool{}
	docs := append(ElasticDocs(richReport(), DefaultPrefix), ElasticDocs(plainReport(), DefaultPrefix)...)
	for _, d := range docs {
		name := d.Index[:strings.LastIndexByte(d.Index, '-')]
		tpl, ok := tpls[name]
		if !ok {
			t.Fatalf("no template for index %s", d.Index)
		}
		data, err := json.Marshal(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		if covered[name] == nil {
			covered[name] = map[string]bool{}
		}
		walkDoc(t, name, "", v, tpl.Template.Mappings, covered[name])
	}
	for name, tpl := range tpls {
		for _, p := range mappedLeaves("", tpl.Template.Mappings) {
			if !covered[name][p] {
				t.Errorf("%s maps %s, which no document carries", name, p)
			}
		}
	}
}

// walkDoc checks value v at path against mapping m, noting the paths it
// meets.
func walkDoc(t *testing.T, tpl, path string, v any, m map[string]any, covered map[string]bool) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: %s is not mapped", tpl, path)
		return
	}
	if m["enabled"] == false {
		covered[path] = true
		return
	}
	typ, _ := m["type"].(string)
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			walkDoc(t, tpl, path, e, m, covered)
		}
		return
	case map[string]any:
		props, ok := m["properties"].(map[string]any)
		if !ok || (typ != "" && typ != "object" && typ != "nested") {
			t.Errorf("%s: %s is an object, mapped as %v", tpl, path, m)
			return
		}
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			sub, _ := props[k].(map[string]any)
			walkDoc(t, tpl, p, e, sub, covered)
		}
		return
	}
	covered[path] = true
	fits := false
	switch v := v.(type) {
	case string:
		switch typ {
		case "keyword", "text":
			fits = true
		case "date":
			_, err := time.Parse(time.RFC3339Nano, v)
			fits = err == nil
		case "ip":
			_, err := netip.ParseAddr(v)
			fits = err == nil
		case "binary":
			fits = true
		}
	case float64:
		switch typ {
		case "double", "float":
			fits = true
		case "long", "integer":
			fits = v == float64(int64(v))
		}
	case bool:
		fits = typ == "boolean"
	case nil:
		fits = true
	}
	if !fits {
		t.Errorf("%s: %s = %v (%T) does not fit type %q", tpl, path, v, v, typ)
	}
}

// mappedLeaves lists the paths of the mapping's fields that hold values.
func mappedLeaves(path string, m map[string]any) []string {
	props, ok := m["properties"].(map[string]any)
	if !ok {
		return []string{path}
	}
	var out []string
	for k, sub := range props {
		p := k
		if path != "" {
			p = path + "." + k
		}
		out = append(out, mappedLeaves(p, sub.(map[string]any))...)
	}
	return out
}

// TestRichReportIsComplete keeps the template tests honest as the report
// grows: somewhere in richReport, every field of every struct type of
// package report must be set, or a new field could go unmapped unnoticed.
func TestRichReportIsComplete(t *testing.T) {
	set := map[string]bool{}
	var collect func(v reflect.Value)
	collect = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				collect(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if !v.Field(i).IsZero() {
					set[v.Type().Name()+"."+v.Type().Field(i).Name] = true
				}
				collect(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				collect(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				collect(v.MapIndex(k))
			}
		}
	}
	collect(reflect.ValueOf(richReport()))

	done := map[reflect.Type]bool{}
	var check func(typ reflect.Type)
	check = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			check(typ.Elem())
		case reflect.Struct:
			if done[typ] || typ.PkgPath() != reflect.TypeFor[report.Report]().PkgPath() {
				return
			}
			done[typ] = true
			for i := range typ.NumField() {
				f := typ.Field(i)
				if !set[typ.Name()+"."+f.Name] {
					t.Errorf("richReport never sets %s.%s", typ.Name(), f.Name)
				}
				check(f.Type)
			}
		}
	}
	check(reflect.TypeFor[report.Report]())
}
