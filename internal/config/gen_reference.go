//go:build ignore

// gen_reference writes reference.yml: every configuration key with its
// documentation (the field comments of Config and the structs below it)
// and its default value, as a YAML file that Load accepts.
//
//	go generate ./internal/config
package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mailsift/mailsift/internal/config"
)

// dirs holds the packages whose structs the configuration is made of.
var dirs = map[string]string{"config": ".", "analyze": "../analyze", "dedup": "../dedup", "enrich": "../enrich",
	"server": "../server", "sink": "../sink", "milter": "../milter", "mailq": "../mailq"}

type structDoc struct {
	fields map[string]*ast.Field // by Go field name
	pkg    string
}

func main() {
	structs := map[string]structDoc{}
	fset := token.NewFileSet()
	for pkg, dir := range dirs {
		pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go") && !strings.HasPrefix(fi.Name(), "gen_")
		}, parser.ParseComments)
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range pkgs {
			for _, f := range p.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					ts, ok := n.(*ast.TypeSpec)
					if !ok {
						return true
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						return true
					}
					sd := structDoc{fields: map[string]*ast.Field{}, pkg: pkg}
					for _, fl := range st.Fields.List {
						for _, name := range fl.Names {
							sd.fields[name.Name] = fl
						}
					}
					structs[pkg+"."+ts.Name.Name] = sd
					return true
				})
			}
		}
	}
	home, _ := os.UserHomeDir()
	var b bytes.Buffer
	b.WriteString("# mailsift configuration: every key with its default.\n")
	b.WriteString("# Generated from the code by go generate ./internal/config; mailsift reads\n")
	b.WriteString("# ~/.config/mailsift/config.yml or --config FILE. Keys left out keep\n")
	b.WriteString("# their defaults; unknown keys are refused.\n")
	write(&b, structs, "config.Config", reflect.ValueOf(config.Default()), 0, home)
	if err := os.WriteFile("reference.yml", b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func write(b *bytes.Buffer, structs map[string]structDoc, name string, v reflect.Value, depth int, home string) {
	sd, ok := structs[name]
	if !ok {
		log.Fatalf("gen_reference: no struct %s", name)
	}
	indent := strings.Repeat("  ", depth)
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		fl := sd.fields[sf.Name]
		b.WriteString("\n")
		if fl != nil && fl.Doc != nil {
			for _, line := range strings.Split(strings.TrimSpace(fl.Doc.Text()), "\n") {
				b.WriteString(strings.TrimRight(indent+"# "+line, " ") + "\n")
			}
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type.PkgPath() != "time" {
			b.WriteString(indent + key + ":\n")
			write(b, structs, typeName(fl.Type, sd.pkg), fv, depth+1, home)
			continue
		}
		out, err := yaml.Marshal(fv.Interface())
		if err != nil {
			log.Fatal(err)
		}
		val := strings.TrimRight(string(out), "\n")
		if home != "" {
			val = strings.ReplaceAll(val, home, "~")
		}
		if strings.Contains(val, "\n") {
			b.WriteString(indent + key + ":\n")
			for _, line := range strings.Split(val, "\n") {
				b.WriteString(indent + "  " + line + "\n")
			}
			continue
		}
		b.WriteString(indent + key + ": " + val + "\n")
	}
}

// typeName resolves a field's struct type to "pkg.Type".
func typeName(e ast.Expr, pkg string) string {
	switch t := e.(type) {
	case *ast.Ident:
		return pkg + "." + t.Name
	case *ast.SelectorExpr:
		return t.X.(*ast.Ident).Name + "." + t.Sel.Name
	}
	log.Fatalf("gen_reference: unexpected type %T", e)
	return ""
}
