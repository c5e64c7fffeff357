//go:build ignore

// gen_schema writes schema.json (JSON Schema 2020-12) and
// ../docs/report.md from the types and doc comments of report.go.
//
//	go generate ./report
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

type field struct {
	name     string // JSON name
	doc      string
	schema   map[string]any
	typeText string // for the Markdown table
	required bool
}

type typeInfo struct {
	name   string
	doc    string
	fields []field
}

func main() {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "report.go", nil, parser.ParseComments)
	if err != nil {
		log.Fatal(err)
	}
	var version string
	var order []string
	types := map[string]*typeInfo{}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range g.Specs {
			switch s := spec.(type) {
			case *ast.ValueSpec:
				if s.Names[0].Name == "Version" {
					version, _ = strconv.Unquote(s.Values[0].(*ast.BasicLit).Value)
				}
			case *ast.TypeSpec:
				st, ok := s.Type.(*ast.StructType)
				if !ok {
					continue
				}
				ti := &typeInfo{name: s.Name.Name, doc: text(g.Doc)}
				for _, fl := range st.Fields.List {
					tag := reflect.StructTag(strings.Trim(fl.Tag.Value, "`")).Get("json")
					name, opts, _ := strings.Cut(tag, ",")
					d := text(fl.Doc)
					if d == "" {
						d = text(fl.Comment)
					}
					sch, tt := schemaOf(fl.Type)
					ti.fields = append(ti.fields, field{name: name, doc: d, schema: sch, typeText: tt,
						required: !strings.Contains(opts, "omitempty")})
				}
				types[ti.name] = ti
				order = append(order, ti.name)
			}
		}
	}

	defs := map[string]any{}
	for _, name := range order {
		if name == "Report" {
			continue
		}
		defs[name] = object(types[name])
	}
	root := object(types["Report"])
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/mailsift/mailsift/report/schema.json"
	root["title"] = "mailsift report " + version
	root["$defs"] = defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("schema.json", buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# The mailsift report, version %s\n\n", version)
	md.WriteString("Generated from `report/report.go` by `go generate ./report`; the JSON Schema is\n")
	md.WriteString("[`report/schema.json`](../report/schema.json). Optional fields are left out when empty.\n")
	for _, name := range order {
		ti := types[name]
		fmt.Fprintf(&md, "\n## %s\n\n%s\n\n| field | type | required | meaning |\n|---|---|---|---|\n", name, oneLine(ti.doc))
		for _, fl := range ti.fields {
			req := ""
			if fl.required {
				req = "yes"
			}
			fmt.Fprintf(&md, "| `%s` | %s | %s | %s |\n", fl.name, fl.typeText, req, oneLine(fl.doc))
		}
	}
	if err := os.WriteFile("../docs/report.md", []byte(md.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

func object(ti *typeInfo) map[string]any {
	props := map[string]any{}
	var req []string
	for _, fl := range ti.fields {
		s := map[string]any{}
		for k, v := range fl.schema {
			s[k] = v
		}
		if fl.doc != "" {
			s["description"] = oneLine(fl.doc)
		}
		props[fl.name] = s
		if fl.required {
			req = append(req, fl.name)
		}
	}
	slices.Sort(req)
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if ti.doc != "" {
		o["description"] = oneLine(ti.doc)
	}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// schemaOf maps a Go type expression of report.go to a schema and a short
// description for the Markdown table.
func schemaOf(e ast.Expr) (map[string]any, string) {
	switch t := e.(type) {
	case *ast.Ident:
		switch t.Name {
		case "string":
			return map[string]any{"type": "string"}, "string"
		case "bool":
			return map[string]any{"type": "boolean"}, "boolean"
		case "int", "int64":
			return map[string]any{"type": "integer"}, "integer"
		case "float64":
			return map[string]any{"type": "number"}, "number"
		case "any":
			return map[string]any{}, "any"
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name}, "[" + t.Name + "](#" + strings.ToLower(t.Name) + ")"
	case *ast.StarExpr:
		return schemaOf(t.X)
	case *ast.ArrayType:
		s, tt := schemaOf(t.Elt)
		return map[string]any{"type": "array", "items": s}, "array of " + tt
	case *ast.MapType:
		s, tt := schemaOf(t.Value)
		return map[string]any{"type": "object", "additionalProperties": s}, "object of " + tt
	case *ast.SelectorExpr:
		if t.Sel.Name == "Time" {
			return map[string]any{"type": "string", "format": "date-time"}, "date-time"
		}
	case *ast.InterfaceType:
		return map[string]any{}, "any"
	}
	log.Fatalf("gen_schema: no schema for %T", e)
	return nil, ""
}

func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.TrimSpace(g.Text())
}

// oneLine joins a doc comment into one line for a table cell.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", "\\|")
}
