package report_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

// filled returns a value of type t with every field set, two levels deep
// in recursive types, so that every property of the JSON form appears.
func filled(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		v.Set(filled(t.Elem(), depth).Addr())
	case reflect.Slice:
		if depth < 2 {
			v.Set(reflect.Append(v, filled(t.Elem(), depth+1)))
		} else {
			v.Set(reflect.MakeSlice(t, 0, 0))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		if t.Elem().Kind() == reflect.Interface {
			v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf(any(1)))
		} else {
			v.SetMapIndex(reflect.ValueOf("k"), filled(t.Elem(), depth+1))
		}
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)))
			break
		}
		for i := range t.NumField() {
			v.Field(i).Set(filled(t.Field(i).Type, depth))
		}
	}
	return v
}

// validate checks doc against the subset of JSON Schema that schema.json
// uses: type, properties, required, additionalProperties, items, $ref.
func validate(root, s map[string]any, doc any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			return []string{at + ": unknown $ref " + ref}
		}
		return validate(root, def, doc, at)
	}
	var errs []string
	switch s["type"] {
	case "object":
		obj, ok := doc.(map[string]any)
		if !ok {
			return []string{at + ": not an object"}
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r]; !ok {
				errs = append(errs, at+": missing required "+r)
			}
		}
		for k, v := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					errs = append(errs, validate(root, ap, v, at+"."+k)...)
				} else if s["additionalProperties"] == false {
					errs = append(errs, at+": property "+k+" not in the schema")
				}
				continue
			}
			errs = append(errs, validate(root, ps, v, at+"."+k)...)
		}
	case "array":
		arr, ok := doc.([]any)
		if !ok {
			return []string{at + ": not an array"}
		}
		items, _ := s["items"].(map[string]any)
		for i, v := range arr {
			errs = append(errs, validate(root, items, v, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := doc.(string); !ok {
			errs = append(errs, at+": not a string")
		}
	case "boolean":
		if _, ok := doc.(bool); !ok {
			errs = append(errs, at+": not a boolean")
		}
	case "integer", "number":
		f, ok := doc.(float64)
		if !ok || s["type"] == "integer" && f != float64(int64(f)) {
			errs = append(errs, at+": not an "+s["type"].(string))
		}
	}
	return errs
}

func asList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Every field of a fully populated report is described by the checked-in
// schema, with the right type; a minimal report has every required field.
func TestSchemaMatchesTypes(t *testing.T) {
	schema := loadSchema(t)
	full := filled(reflect.TypeFor[report.Report](), 0).Interface()
	if errs := validate(schema, schema, toJSONValue(t, full), "report"); len(errs) > 0 {
		t.Errorf("full report:\n%s", strings.Join(errs, "\n"))
	}
	minimal := report.Report{Version: report.Version, ID: "ab", Mail: report.Mail{Headers: []report.Header{}}}
	if errs := validate(schema, schema, toJSONValue(t, minimal), "report"); len(errs) > 0 {
		t.Errorf("minimal report:\n%s", strings.Join(errs, "\n"))
	}
}

// The validator itself catches a field the schema does not know and a
// wrong type, so the test above can fail.
func TestSchemaValidatorCatches(t *testing.T) {
	schema := loadSchema(t)
	doc := toJSONValue(t, report.Report{Version: "1.0", ID: "ab", Mail: report.Mail{Headers: []report.Header{}}}).(map[string]any)
	doc["surprise"] = 1
	doc["is_filtered"] = "no"
	errs := validate(schema, schema, doc, "report")
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), errs)
	}
}
