package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/casevault/casevault/audit"
)

// checkpointPaths is the repeatable --checkpoint flag of audit verify.
type checkpointPaths []string

func (p *checkpointPaths) String() string { return strings.Join(*p, ",") }

func (p *checkpointPaths) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty path")
	}
	*p = append(*p, v)
	return nil
}

// keptFiles expands the --checkpoint paths: a file stands for itself, a
// directory for the regular files directly in it (not hidden), in name
// order. An unreadable path, or a directory without files, is an error.
func keptFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		des, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, de := range des {
			if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".") {
				names = append(names, de.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no checkpoint files in the directory", p)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, filepath.Join(p, n))
		}
	}
	return out, nil
}

// verifierKeys is the repeatable --key flag of audit verify. An empty
// value is kept, so that it is reported as a usage error.
type verifierKeys []string

func (k *verifierKeys) String() string { return strings.Join(*k, ",") }

func (k *verifierKeys) Set(v string) error {
	*k = append(*k, v)
	return nil
}

// empty reports whether one of the keys given is empty.
func (k verifierKeys) empty() bool {
	for _, v := range k {
		if v == "" {
			return true
		}
	}
	return false
}

// readKept reads one kept checkpoint: the signed note text, or the JSON
// answer of GET /api/v1/audit/checkpoint with it in "note", and checks its
// signature with one of keys.
func readKept(path string, keys []string) (*audit.KeptCheckpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var v struct {
			Note string `json:"note"`
		}
		if err := json.Unmarshal(t, &v); err != nil || v.Note == "" {
			return nil, fmt.Errorf("checkpoint %s is JSON without a note", path)
		}
		b = []byte(v.Note)
	}
	return audit.ParseKeptKeys(path, b, keys)
}
