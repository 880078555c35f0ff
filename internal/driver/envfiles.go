package driver

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ReadEnvFiles reads a container's environment files in order. ECS reads
// them from S3; ecsd reads local files (an absolute path or a file://
// URL), because it has no S3. The format is Docker's env-file, as on
// Fargate: VARIABLE=VALUE per line, everything after the first '=' is the
// value, lines starting with '#' and lines without '=' are skipped. Within
// a file the last line for a name wins; across files the first file that
// sets a name wins, as the ECS agent merges them.
func ReadEnvFiles(files []string) ([]EnvVar, error) {
	var out []EnvVar
	seen := map[string]bool{}
	for _, f := range files {
		path, err := envFilePath(f)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		vars, err := parseEnvFile(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, e := range vars {
			if !seen[e.Name] {
				seen[e.Name] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func envFilePath(f string) (string, error) {
	p := f
	if strings.HasPrefix(f, "file://") {
		u, err := url.Parse(f)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return "", fmt.Errorf("%s: not a local file URL", f)
		}
		p = u.Path
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s: ecsd reads environment files from the local file system only: give an absolute path or a file:// URL", f)
	}
	return p, nil
}

// parseEnvFile returns a file's variables in first-appearance order, each
// with the value of its last line.
func parseEnvFile(b []byte) ([]EnvVar, error) {
	var out []EnvVar
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimLeft(name, " \t")
		if !ok || name == "" {
			continue
		}
		if i, ok := index[name]; ok {
			out[i].Value = value
			continue
		}
		index[name] = len(out)
		out = append(out, EnvVar{Name: name, Value: value})
	}
	return out, sc.Err()
}
