package dockerdriver

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecsd/ecsd/internal/driver"
)

func frame(stream byte, s string) []byte {
	b := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(s)))
	return append(b, s...)
}

// TestReadLogStream parses the Engine's multiplexed log stream with
// timestamps: lines across frames, both streams, a last line without a
// newline.
func TestReadLogStream(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(1, "2025-03-01T12:00:00.000000001Z hello\n2025-03-01T12:00:01Z wor"))
	in.Write(frame(2, "2025-03-01T12:00:02Z oops\r\n"))
	in.Write(frame(1, "ld\n2025-03-01T12:00:03Z tail"))
	var got []driver.LogLine
	if err := readLogStream(&in, false, func(l driver.LogLine) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339Nano, s); return tm }
	want := []driver.LogLine{
		{Time: at("2025-03-01T12:00:00.000000001Z"), Stream: "stdout", Text: "hello"},
		{Time: at("2025-03-01T12:00:02Z"), Stream: "stderr", Text: "oops"},
		{Time: at("2025-03-01T12:00:01Z"), Stream: "stdout", Text: "world"},
		{Time: at("2025-03-01T12:00:03Z"), Stream: "stdout", Text: "tail"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
