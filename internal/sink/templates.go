package sink

import (
	"embed"
	"strings"
)

// The canonical index templates; deploy/elasticsearch holds copies for
// people who install them by hand, and a test keeps the two the same.
//
//go:embed templates/*.json
var templates embed.FS

// IndexTemplates returns the composable index templates for the
// documents of ElasticDocs with the default prefix, by template name
// ("mailsift-mails", "mailsift-attachments"), as JSON bodies for
// Elasticsearch 8 or OpenSearch 2: PUT _index_template/<name>. They map
// every field the documents carry, with dynamic mapping off, so that
// unexpected fields are kept in the source without changing the mapping.
// The caller may change the returned bytes.
func IndexTemplates() map[string][]byte {
	entries, err := templates.ReadDir("templates")
	if err != nil {
		return nil
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := templates.ReadFile("templates/" + e.Name())
		if err != nil {
			continue
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = data
	}
	return out
}
