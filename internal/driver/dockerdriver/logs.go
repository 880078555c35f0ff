package dockerdriver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ecsd/ecsd/internal/driver"
)

var _ driver.LogReader = (*Driver)(nil)

// maxLogLine bounds one line handed on: a container printing megabytes
// without a newline must not make ecsd hold them all. CloudWatch Logs
// takes at most 256 KiB per event (awslogs splits longer lines there).
const maxLogLine = 256 << 10

// Logs implements driver.LogReader from the Engine's log of the container
// (json-file, which ecsd gives containers whose task definition names
// awslogs): each line with the time the Engine received it. A container
// not created yet (its image still pulling) is driver.ErrNotRunning, so a
// reader tries again once it runs.
func (d *Driver) Logs(ctx context.Context, id, name string, opts driver.LogOptions, fn func(driver.LogLine) error) error {
	v, err := d.load(ctx, id, true)
	if err != nil {
		return err
	}
	known := false
	for _, c := range v.spec.Containers {
		known = known || c.Name == name
	}
	if !known {
		return fmt.Errorf("%w: group %s has no container %q", driver.ErrNotFound, id, name)
	}
	m := v.members[name]
	if m == nil {
		if v.failed[name] != nil {
			return nil // gave up starting: it never wrote anything
		}
		return fmt.Errorf("%w: container %s of group %s is not created yet", driver.ErrNotRunning, name, id)
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: true}
	if !opts.Since.IsZero() {
		lo.Since = strconv.FormatInt(opts.Since.Unix(), 10) + "." + fmt.Sprintf("%09d", opts.Since.Nanosecond())
	}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	rc, err := d.cli.ContainerLogs(ctx, m.ID, lo)
	if err != nil {
		return fmt.Errorf("docker runtime: %w", err)
	}
	defer rc.Close()
	tty := m.Config != nil && m.Config.Tty
	err = readLogStream(rc, tty, fn)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readLogStream splits the Engine's log stream into lines: one raw stream
// for a TTY container, else frames of an 8-byte header (stream, 0, 0, 0,
// big-endian length) and a payload. With timestamps each line starts with
// the Engine's RFC 3339 time and a space.
func readLogStream(r io.Reader, tty bool, fn func(driver.LogLine) error) error {
	var out, errs lineSplitter
	out.stream, errs.stream = "stdout", "stderr"
	if tty {
		br := bufio.NewReaderSize(r, 64<<10)
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				if ferr := out.write(buf[:n], fn); ferr != nil {
					return ferr
				}
			}
			if err != nil {
				return finish(err, out.flush(fn))
			}
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [8]byte
	payload := make([]byte, 0, 16<<10)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return finish(err, errors.Join(out.flush(fn), errs.flush(fn)))
		}
		size := int(binary.BigEndian.Uint32(hdr[4:]))
		if size > 1<<20 {
			return fmt.Errorf("docker runtime: log frame of %d bytes", size)
		}
		if cap(payload) < size {
			payload = make([]byte, size)
		}
		payload = payload[:size]
		if _, err := io.ReadFull(br, payload); err != nil {
			return finish(err, errors.Join(out.flush(fn), errs.flush(fn)))
		}
		s := &out
		if hdr[0] == 2 {
			s = &errs
		}
		if err := s.write(payload, fn); err != nil {
			return err
		}
	}
}

func finish(readErr, flushErr error) error {
	if flushErr != nil {
		return flushErr
	}
	if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
		return nil
	}
	return fmt.Errorf("docker runtime: %w", readErr)
}

// lineSplitter turns one stream's bytes into lines.
type lineSplitter struct {
	stream string
	buf    []byte
}

func (s *lineSplitter) write(p []byte, fn func(driver.LogLine) error) error {
	for len(p) > 0 {
		i := indexByte(p, '\n')
		if i < 0 {
			s.buf = append(s.buf, p...)
			if len(s.buf) > maxLogLine {
				return s.flush(fn)
			}
			return nil
		}
		s.buf = append(s.buf, p[:i]...)
		p = p[i+1:]
		if err := s.flush(fn); err != nil {
			return err
		}
	}
	return nil
}

func indexByte(p []byte, c byte) int {
	for i, b := range p {
		if b == c {
			return i
		}
	}
	return -1
}

// flush hands on what is buffered as one line.
func (s *lineSplitter) flush(fn func(driver.LogLine) error) error {
	if len(s.buf) == 0 {
		return nil
	}
	text := strings.TrimSuffix(string(s.buf), "\r")
	s.buf = s.buf[:0]
	line := driver.LogLine{Stream: s.stream, Text: text}
	if ts, rest, ok := strings.Cut(text, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			line.Time, line.Text = t, rest
		}
	}
	if line.Time.IsZero() {
		line.Time = time.Now()
	}
	return fn(line)
}
