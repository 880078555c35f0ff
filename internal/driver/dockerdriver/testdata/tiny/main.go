// Command tiny is the program inside the test image (FROM scratch, static):
// one binary whose first argument says how to behave, so the Docker
// driver's tests need no registry and no shell.
//
//	tiny run                  run until SIGTERM, then exit 0
//	tiny exit CODE MS         exit with CODE after MS milliseconds
//	tiny ignore-term          ignore SIGTERM (only SIGKILL ends it)
//	tiny serve ADDR           HTTP on ADDR: /info (env, cwd, ids, pid, args), /health, /read?path=P,
//	                          /write?path=P (body: the request's), anything else: $BODY; exit 0 on SIGTERM
//	tiny metadata             once the task is RUNNING, print the task metadata endpoints' and the
//	                          credentials endpoint's answers as one JSON line, then run until SIGTERM
//	tiny get URL              exit 0 if GET URL answers 200, else 1
//	tiny get-retry URL MS     like get, retrying for up to MS milliseconds
//	tiny alloc MIB            touch MIB MiB of memory, then run until SIGTERM
//	tiny health FILE          exit 0 if FILE exists (a health check command)
//	tiny touch FILE MS        create FILE after MS milliseconds, then run until SIGTERM
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "run":
		waitTerm()
	case "exit":
		need(args, 2)
		time.Sleep(time.Duration(atoi(args[1])) * time.Millisecond)
		os.Exit(atoi(args[0]))
	case "print": // print N MS: N lines ("line i", every fifth on stderr) MS apart, then exit 0
		need(args, 2)
		for i := range atoi(args[0]) {
			out := os.Stdout
			if i%5 == 4 {
				out = os.Stderr
			}
			fmt.Fprintf(out, "line %d\n", i)
			time.Sleep(time.Duration(atoi(args[1])) * time.Millisecond)
		}
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		for { // not select{}: with no other goroutine the runtime calls that a deadlock
			time.Sleep(time.Hour)
		}
	case "serve":
		need(args, 1)
		http.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
			cwd, _ := os.Getwd()
			host, _ := os.Hostname()
			_ = json.NewEncoder(w).Encode(map[string]any{
				"env": os.Environ(), "cwd": cwd, "uid": os.Getuid(), "gid": os.Getgid(),
				"args": os.Args, "hostname": host, "pid": os.Getpid(),
			})
		})
		http.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
			b, err := os.ReadFile(r.URL.Query().Get("path"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			_, _ = w.Write(b)
		})
		http.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if err := os.WriteFile(r.URL.Query().Get("path"), b, 0o644); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
			}
		})
		http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv("BODY")) })
		go func() {
			err := http.ListenAndServe(args[0], nil)
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}()
		waitTerm()
	case "metadata":
		printMetadata()
		waitTerm()
	case "get":
		need(args, 1)
		if !get(args[0]) {
			os.Exit(1)
		}
	case "get-retry":
		need(args, 2)
		deadline := time.Now().Add(time.Duration(atoi(args[1])) * time.Millisecond)
		for !get(args[0]) {
			if time.Now().After(deadline) {
				os.Exit(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	case "alloc": // alloc MiB [delay-ms]
		need(args, 1)
		// Allocating only after a pause lets the Engine watch the
		// container's OOM events first: Docker misses an OOM kill that
		// lands while the container is still starting, and then reports
		// it without OOMKilled (seen on a loaded machine).
		if len(args) > 1 {
			time.Sleep(time.Duration(atoi(args[1])) * time.Millisecond)
		}
		var keep [][]byte
		for range atoi(args[0]) {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		_ = keep
		waitTerm()
	case "health":
		need(args, 1)
		if _, err := os.Stat(args[0]); err != nil {
			os.Exit(1)
		}
	case "touch":
		need(args, 2)
		time.Sleep(time.Duration(atoi(args[1])) * time.Millisecond)
		if err := os.WriteFile(args[0], nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		waitTerm()
	default:
		usage()
	}
}

// printMetadata fetches what a task's container can learn about itself.
func printMetadata() {
	base := os.Getenv("ECS_CONTAINER_METADATA_URI_V4")
	out := map[string]any{}
	fetch := func(key, url, auth string) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			out[key] = map[string]any{"error": err.Error()}
			return
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			out[key] = map[string]any{"error": err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out[key] = map[string]any{"status": resp.StatusCode, "body": json.RawMessage(b)}
		if !json.Valid(b) {
			out[key] = map[string]any{"status": resp.StatusCode, "text": string(b)}
		}
	}
	// What a container sees right after it starts may be ahead of what
	// ecsd has recorded: wait until the task is RUNNING, as a program
	// that wants settled values would.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var task struct{ KnownStatus string }
		resp, err := http.Get(base + "/task")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&task)
			resp.Body.Close()
		}
		if task.KnownStatus == "RUNNING" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fetch("container", base, "")
	fetch("task", base+"/task", "")
	fetch("stats", base+"/stats", "")
	fetch("taskStats", base+"/task/stats", "")
	if u := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); u != "" {
		fetch("credentials", u, os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
		fetch("credentialsWithoutToken", u, "")
	}
	if u := os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); u != "" {
		fetch("credentials", "http://169.254.170.2"+u, "")
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func get(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func waitTerm() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	os.Exit(0)
}

func need(args []string, n int) {
	if len(args) < n {
		usage()
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		usage()
	}
	return n
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tiny run|exit CODE MS|print N MS|ignore-term|serve ADDR|metadata|get URL|get-retry URL MS|alloc MIB|health FILE|touch FILE MS")
	os.Exit(64)
}
