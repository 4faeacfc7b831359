package s3test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Kill kills the server process at once (SIGKILL to its process group), as
// a site that fails does, and waits for it to exit. Its data stays until
// RestartEmpty or Close.
func (s *Server) Kill() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("s3test: %s (pid %d) did not exit", s.Kind, s.cmd.Process.Pid)
	}
}

// RestartEmpty kills the server if it runs, throws its data away and
// starts it again on the same endpoint with the same credentials: a site
// that comes back after losing everything. The caller creates the buckets
// it needs again.
func (s *Server) RestartEmpty() error {
	if err := s.Kill(); err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.launch(); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond) // the port may not be free yet
	}
	return err
}
