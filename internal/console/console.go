// Package console serves ecsd's web console: a page of plain HTML, CSS and
// JavaScript embedded in the binary, which reads and writes through the
// ECS API on the same listener (POST / with X-Amz-Target, signed with SigV4
// in the browser when ecsd verifies signatures), exactly as any other
// client does. It never reads the store.
//
// The one thing the ECS API cannot give is a container's output, so the
// console also answers POST /console/logs from the runtime's LogReader,
// the seam `ecsd logs` reads through. Behind --verify-sigv4 that endpoint
// wants a signature like the API's.
//
// It must never import the store, the use-cases, the loops or the protocol
// package's internals: it is a client of the API, not a second path to it.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"time"

	"github.com/ecsd/ecsd/internal/driver"
)

//go:embed assets
var assets embed.FS

// Config is what the console needs from the server.
type Config struct {
	// Logs reads containers' output; nil when the runtime keeps none
	// (the simulated runtime).
	Logs driver.LogReader
	// RequireSignatureFunc wraps a handler so that it serves only
	// requests signed as the ECS API's must be (awsjson's
	// Server.RequireSignature); nil serves everything.
	RequireSignatureFunc func(http.Handler) http.Handler
}

// MaxLogLines bounds what one logs request returns: the last lines, as
// GetLogEvents returns at most 10,000 events per call.
const MaxLogLines = 1000

// Handler serves the console under /console/.
func Handler(cfg Config) http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	files := http.StripPrefix("/console/", http.FileServerFS(static))
	logs := http.Handler(logsHandler{cfg.Logs})
	if cfg.RequireSignatureFunc != nil {
		logs = cfg.RequireSignatureFunc(logs)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /console/logs", logs)
	mux.Handle("GET /console/", files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Defence in depth: the page inserts every string from the API
		// as text, and a page that loads nothing but itself cannot be
		// made to run anything else either.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}

// logsRequest names a container of a task, as the console asks for it.
type logsRequest struct {
	TaskID    string `json:"taskId"`
	Container string `json:"container"`
}

// logEvent has GetLogEvents' member names, so the page reads either answer
// the same way.
type logEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type logsHandler struct{ logs driver.LogReader }

// Task IDs are 32 hex digits; container names ECS's [a-zA-Z0-9_-]{1,255}.
var (
	taskIDPattern    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	containerPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
)

func (h logsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req logsRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "The request body is not a JSON object with taskId and container.")
		return
	}
	if !taskIDPattern.MatchString(req.TaskID) || !containerPattern.MatchString(req.Container) {
		writeError(w, http.StatusBadRequest, "InvalidParameterException", "taskId must be a task ID and container a container name.")
		return
	}
	if h.logs == nil {
		writeError(w, http.StatusBadRequest, "ClientException", "This runtime keeps no container output: tasks on the simulated runtime run no process.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	events := []logEvent{}
	err = h.logs.Logs(ctx, req.TaskID, req.Container, driver.LogOptions{Tail: MaxLogLines}, func(l driver.LogLine) error {
		var ms int64 // 0: the runtime kept no time for this line
		if !l.Time.IsZero() {
			ms = l.Time.UnixMilli()
		}
		events = append(events, logEvent{Timestamp: ms, Message: l.Text, IngestionTime: ms})
		return nil
	})
	switch {
	case errors.Is(err, driver.ErrNotFound):
		writeError(w, http.StatusBadRequest, "ResourceNotFoundException", "The runtime has no container "+req.Container+" for task "+req.TaskID+".")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "ServerException", "Reading the container's output failed.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"events": events})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
