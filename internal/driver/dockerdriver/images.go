package dockerdriver

import (
	"bytes"
	"context"
	"io"
	"sort"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// ImportImage makes a FROM-scratch image tagged tag whose root file
// system is files (path -> executable content) and whose configuration
// is changes (Dockerfile instructions: ENTRYPOINT, CMD, ENV, LABEL,
// EXPOSE...). It needs neither a registry nor a builder, which is how the
// tests, the end-to-end scripts and the benchmark make their images.
func ImportImage(ctx context.Context, cli *client.Client, tag string, files map[string][]byte, changes ...string) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	tfs := make([]tarFile, 0, len(names))
	for _, n := range names {
		tfs = append(tfs, tarFile{Name: n, Mode: 0o755, Body: files[n]})
	}
	rootfs, err := tarFiles(tfs...)
	if err != nil {
		return err
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, tag,
		image.ImportOptions{Changes: changes})
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
}
