// The Go side of the jobserver's floors: Go's net/http answering POST /payload
// after one stage of the work and nothing more, so BENCHMARKS.md can say what
// each part of the Go anchor's request costs on one core beside the same
// stages of the Swift server (JOBSERVER_STAGE there).
//
//	go run . -addr 127.0.0.1:8080      env STAGE=http|body|decode
//
// http: 200 without reading the body; body: 200 after reading it; decode: 200
// after decoding the JSON collection (the anchor's types and decoder). Nothing
// is queued at any stage; GET /stats answers "accepted 0 processed 0 queued 0
// busy 0" so the anchors' compare script can drive it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
)

type payload struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

type collection struct {
	Version string    `json:"version"`
	Token   string    `json:"token"`
	Data    []payload `json:"data"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	stage := os.Getenv("STAGE")
	if stage != "http" && stage != "body" && stage != "decode" {
		fmt.Fprintf(os.Stderr, "STAGE must be http, body or decode, got %q\n", stage)
		os.Exit(2)
	}
	http.HandleFunc("/payload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		switch stage {
		case "body":
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 2<<20))
		case "decode":
			var c collection
			if err := json.NewDecoder(io.LimitReader(r.Body, 2<<20)).Decode(&c); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "accepted 0 processed 0 queued 0 busy 0\n")
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
