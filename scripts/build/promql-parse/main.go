// promql-parse: parse PromQL expressions with Prometheus's own parser (github.com/prometheus/prometheus/promql/parser,
// pinned in go.mod). Reads a JSON list of strings on stdin; prints one JSON object per expression:
// {"expr": ..., "ok": bool, "error": "...", "type": "vector|scalar|matrix|string"}; exits 1 when any fails.
// Built by scripts/build-go.sh promql-parse (small: only the parser package) for the dashboard test of `make test`.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/promql/parser"
)

type result struct {
	Expr  string `json:"expr"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Type  string `json:"type,omitempty"`
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "stdin: a JSON list of PromQL strings:", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{}) // the defaults of Prometheus 3.16 (no experimental functions)
	failed := false
	enc := json.NewEncoder(os.Stdout)
	for _, e := range exprs {
		r := result{Expr: e}
		node, err := p.ParseExpr(e)
		if err != nil {
			r.Error = err.Error()
			failed = true
		} else {
			r.OK = true
			r.Type = string(node.Type())
		}
		_ = enc.Encode(r)
	}
	if failed {
		os.Exit(1)
	}
}
