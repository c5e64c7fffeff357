package enrich_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mailsift/mailsift/internal/enrich"
)

// nameCheck is a FileEnricher that flags double extensions.
type nameCheck struct{}

func (nameCheck) Name() string { return "namecheck" }

func (nameCheck) File(ctx context.Context, f enrich.File) (map[string]any, error) {
	parts := strings.Split(f.Name, ".")
	return map[string]any{"double_extension": len(parts) > 2}, nil
}

func ExampleNewFileStage() {
	stage := enrich.NewFileStage(nameCheck{}, time.Second, 1000)
	ctx := context.Background()
	for _, f := range []enrich.File{
		{Name: "invoice.pdf.exe", Data: []byte("MZ...")},
		{Name: "report.pdf", Data: []byte("%PDF-1.7 ...")},
	} {
		// The report keeps it as Enrichment[stage.Name()].
		out, err := json.Marshal(stage.File(ctx, f))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(stage.Name(), f.Name, string(out))
	}
	// Output:
	// namecheck invoice.pdf.exe {"result":{"double_extension":true}}
	// namecheck report.pdf {"result":{"double_extension":false}}
}

func ExampleDefaultConfig() {
	c := enrich.DefaultConfig()
	c.ClamAV.Enabled = true
	if err := c.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	enc := yaml.NewEncoder(os.Stdout)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		fmt.Println(err)
	}
	// Output:
	// clamav:
	//   enabled: true
	//   address: unix:/run/clamav/clamd.ctl
	//   timeout: 30s
	//   max_bytes: 26214400
	//   cache_size: 10000
	//   cache_ttl: 1h0m0s
	// virustotal:
	//   enabled: false
	//   api_key: ""
	//   api_key_file: ""
	//   base_url: https://www.virustotal.com/api/v3
	//   requests_per_minute: 4
	//   timeout: 30s
	//   cache_size: 10000
	//   cache_ttl: 24h0m0s
	//   files: true
	//   ips: true
}
