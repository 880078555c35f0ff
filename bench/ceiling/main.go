// Command ceiling is the practical ceiling of the machine for the ECS
// benchmarks: the least an HTTP JSON API can do in Go. It reads each
// request body in full and answers 200 with a fixed JSON document of about
// 1 KB (the size of a DescribeTaskDefinition answer), through net/http as
// ecsd does, so any gap between the two is ecsd's own work.
//
//	go run ./bench/ceiling -listen 127.0.0.1:8090
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve on")
	size := flag.Int("size", 1024, "approximate size of the answer in bytes")
	flag.Parse()
	body := document(*size)
	length := strconv.Itoa(len(body))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

// document returns a JSON object shaped like a task definition, padded to
// about size bytes.
func document(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"taskDefinition":{"family":"bench","revision":1,"status":"ACTIVE","containerDefinitions":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"app-%d","image":"public.ecr.aws/docker/library/nginx:latest","essential":true}`, i)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}
