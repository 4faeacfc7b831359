package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// serveLockName is the file in DATA_DIR that `serve` (and an in-process
// `tenant move`) hold an exclusive lock on while they run, so that no two
// writers share a data directory and `tenant move` knows when a server
// runs on it.
const serveLockName = "serve.lock"

// errDataDirBusy is returned by lockDataDir when another process holds the
// data directory's lock.
var errDataDirBusy = errors.New("another casevault process holds the data directory")

// lockInfo is what the lock's holder writes into the lock file: which
// process holds it and, for a server, where its operator API listens. It
// is read only while the lock is held; a file left by a process that died
// holds no lock and is ignored.
type lockInfo struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	// Ready is set once a server listens; OperatorURL and TokenFile then
	// say where its operator API is and which file holds its token (no
	// URL: the API is off).
	Ready       bool   `json:"ready,omitempty"`
	OperatorURL string `json:"operator_url,omitempty"`
	TokenFile   string `json:"token_file,omitempty"`
}

// dataDirLock is a held lock on DATA_DIR/serve.lock. The kernel releases
// it when the process ends, however it ends.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the data directory's lock for command, or returns an
// error wrapping errDataDirBusy when another process holds it.
func lockDataDir(dataDir, command string) (*dataDirLock, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, serveLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	busy, err := flockExclusive(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if busy {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", errDataDirBusy, filepath.Join(dataDir, serveLockName))
	}
	l := &dataDirLock{f: f}
	if err := l.note(lockInfo{PID: os.Getpid(), Command: command}); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// note replaces what the lock file says about its holder.
func (l *dataDirLock) note(info lockInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	return nil
}

// Close releases the lock. The file stays: removing it would let a
// process that opened it before lock a file no longer in the directory.
func (l *dataDirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// readLockInfo reads what the lock's holder wrote; call it only while
// lockDataDir reports the lock busy.
func readLockInfo(dataDir string) (lockInfo, error) {
	var info lockInfo
	b, err := os.ReadFile(filepath.Join(dataDir, serveLockName))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("data dir lock: %s: %w", serveLockName, err)
	}
	return info, nil
}
